/** A metric a PromQL expression reads, with its label matchers as written (`{…}`, or ""). */
export interface Selector {
  metric: string;
  matchers: string;
}

/** PromQL's aggregation operators, which may stand before `by (…)` rather than before `(`. */
const aggregations = new Set(
  "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split(
    " ",
  ),
);
/** Words followed by a list of label names. */
const labelLists = new Set("by without on ignoring group_left group_right".split(" "));
const keywords = new Set("and or unless bool offset atan2 inf nan".split(" "));

/**
 * One token at a time: strings, `{matchers}`, `[ranges]`, Grafana's `$variables`, numbers and
 * durations (`0.99`, `5m`, `1e3`), names, and any other character alone.
 */
const token =
  /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\{(?:"(?:[^"\\]|\\.)*"|[^}"])*\}|\[[^\]]*\]|\$\{?\w+(?::\w+)?\}?|\d[\w.]*|[A-Za-z_:][\w:]*|\S/g;

/**
 * The metrics a PromQL expression selects — not its functions, aggregations, keywords or label
 * names. A small reading of the grammar, enough for dashboards: every name that is not followed
 * by `(`, not one of PromQL's words, and not in a label list is a metric.
 */
export function metricSelectors(expr: string): Selector[] {
  const tokens = expr.match(token) ?? [];
  const selectors: Selector[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i] as string;
    if (!/^[A-Za-z_:]/.test(word)) continue;
    const next = tokens[i + 1];
    if (labelLists.has(word) && next === "(") {
      while (i < tokens.length && tokens[i] !== ")") i++;
      continue;
    }
    if (next === "(" || aggregations.has(word) || keywords.has(word)) continue;
    const matchers = next?.startsWith("{") ? next : "";
    selectors.push({ metric: word, matchers });
  }
  return selectors;
}

/**
 * The metrics a Grafana variable's query reads: `label_values(<selector>, <label>)` or a PromQL
 * expression (`query_result(…)`); `label_values(<label>)` alone reads none.
 */
export function variableSelectors(query: string): Selector[] {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query);
  if (labelValues) return metricSelectors(labelValues[1] as string);
  if (/^\s*label_values\(\s*\w+\s*\)\s*$/.test(query)) return [];
  return metricSelectors(query.replace(/^\s*query_result\((.*)\)\s*$/, "$1"));
}

/** A histogram's or summary's series name less its suffix: the name of the metric family. */
export const familyOf = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

/** The names of the series in a Prometheus text exposition (`# HELP`/`# TYPE` lines aside). */
export function exposedSeries(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const name = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line)?.[1];
    if (name) names.add(name);
  }
  return names;
}
