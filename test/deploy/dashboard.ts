import { readFileSync } from "node:fs";
import { metricSelectors, type Selector, variableSelectors } from "./promql.js";

export const repoRoot = new URL("../../", import.meta.url).pathname;

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
  /** A collapsed row holds its panels. */
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}

export interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export const readDashboard = (): Dashboard =>
  JSON.parse(readFileSync(`${repoRoot}deploy/grafana/basket-service.json`, "utf8"));

/** Every panel, those inside collapsed rows too. */
export const allPanels = (dashboard: Dashboard): Panel[] =>
  dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

/** A PromQL query of the dashboard, and where it is: a panel's title or a variable's name. */
export interface Query {
  where: string;
  /** Only panels' queries are filtered by the dashboard's variables. */
  kind: "panel" | "variable";
  expr: string;
  selectors: Selector[];
}

export function dashboardQueries(dashboard: Dashboard): Query[] {
  const panels = allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}"`,
      kind: "panel" as const,
      expr: target.expr,
      selectors: metricSelectors(target.expr),
    })),
  );
  const variables = dashboard.templating.list
    .filter((variable) => variable.type === "query")
    .map((variable) => {
      const expr = typeof variable.query === "string" ? variable.query : variable.query.query;
      return {
        where: `variable $${variable.name}`,
        kind: "variable" as const,
        expr,
        selectors: variableSelectors(expr),
      };
    });
  return [...panels, ...variables];
}
