import { describe, expect, it } from "vitest";
import { exposedSeries, familyOf, metricSelectors, variableSelectors } from "./promql.js";

const metrics = (expr: string) => metricSelectors(expr).map((selector) => selector.metric);

describe("reading the metrics out of PromQL", () => {
  it("finds the metrics, and none of the functions, aggregations, keywords or label names", () => {
    expect(
      metrics(
        'histogram_quantile(0.99, sum by (le, type) (rate(basket_command_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      ),
    ).toEqual(["basket_command_duration_seconds_bucket"]);
    expect(
      metrics(
        "sum(rate(hits_total[5m] offset 1h)) by (instance) / on(instance) group_left(role) (misses_total + 1e3) or vector(0)",
      ),
    ).toEqual(["hits_total", "misses_total"]);
    expect(
      metrics('max(up{job="a}b", instance=~"x"}) > bool 0.5 unless nodejs_eventloop_lag_p99_seconds'),
    ).toEqual(["up", "nodejs_eventloop_lag_p99_seconds"]);
    expect(metrics('topk(3, sum without (le) (x)) and count_values("v", y)')).toEqual(["x", "y"]);
  });

  it("keeps each metric's label matchers as written", () => {
    expect(metricSelectors('a{job=~"$job", instance=~"$instance"} / b')).toEqual([
      { metric: "a", matchers: '{job=~"$job", instance=~"$instance"}' },
      { metric: "b", matchers: "" },
    ]);
  });

  it("reads a Grafana variable's label_values and query_result", () => {
    expect(variableSelectors('label_values(basket_cache_hits_total{job=~"$job", x="y"}, instance)')).toEqual([
      { metric: "basket_cache_hits_total", matchers: '{job=~"$job", x="y"}' },
    ]);
    expect(variableSelectors("label_values(job)")).toEqual([]);
    expect(variableSelectors("query_result(topk(5, sum by (type) (c_total)))")).toEqual([
      { metric: "c_total", matchers: "" },
    ]);
  });

  it("names a histogram's family, and the series a /metrics page exposes", () => {
    expect(["h_bucket", "h_sum", "h_count", "c_total"].map(familyOf)).toEqual(["h", "h", "h", "c_total"]);
    const page = [
      "# HELP c_total Things.",
      "# TYPE c_total counter",
      'c_total{outcome="ok"} 3',
      "# TYPE unset counter",
      "g 1",
      'h_bucket{le="+Inf"} 1',
    ].join("\n");
    expect([...exposedSeries(page)]).toEqual(["c_total", "g", "h_bucket"]);
  });
});
