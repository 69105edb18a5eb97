import type { ColumnType } from "kysely";

type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The read model's tables (migrations/0002-read-model.ts), as kysely sees them. */
export interface ReadModelTables {
  projection_checkpoints: {
    name: string;
    version: number;
    checkpoint: string | null;
    position: Int8 | null;
    events_applied: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
    owner: string | null;
    updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  };
  basket_view: {
    id: string;
    visitor_id: string | null;
    status: "open" | "checked_out";
    currency: string;
    line_count: number;
    item_count: number;
    total: Int8;
    revision: Int8;
    created_at: Timestamp;
    updated_at: Timestamp;
    checked_out_at: Timestamp | null;
  };
  basket_view_lines: {
    basket_id: string;
    line_no: number;
    sku: string;
    name: string;
    unit_price: Int8;
    quantity: number;
    line_total: Int8;
  };
  product_popularity: {
    sku: string;
    times_added: Int8;
    times_removed: Int8;
    quantity_in_open_baskets: Int8;
    quantity_checked_out: Int8;
  };
  products: {
    sku: string;
    name: string;
    prices: ColumnType<Record<string, number>, string, string>;
    listed: boolean;
    revision: Int8;
    updated_at: Timestamp;
  };
  product_popularity_baskets: {
    basket_id: string;
    revision: Int8;
    state: ColumnType<unknown, string, string>;
  };
}
