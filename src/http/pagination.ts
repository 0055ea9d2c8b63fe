// Lists in the API: `?page=&per_page=` (default 20, max 100) in, `{items, total, page, per_page}` out.
import { z } from "zod";

export const Pagination = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
};

export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number(), page: z.number(), per_page: z.number() });
