import { logger } from '../shared/observability/logger';
import type { MetricCount, MetricPoint, MetricRecorder } from '../shared/observability/metrics';
import type { SqlClient } from '../shared/sql/port';

interface PendingCount {
  name: string;
  dimensions: Record<string, string>;
  unit: string;
  points: number;
  total: number;
}

/**
 * The local engine's metrics: the data points its handlers emit (the same EMF documents as on
 * Lambda) are counted in memory and added to `tenantry.metric_counts` (local store migration 3)
 * when a run ends, in one statement, so every process's counts add up in the database.
 */
export class LocalMetrics implements MetricRecorder {
  private pending = new Map<string, PendingCount>();

  constructor(private readonly db: SqlClient) {}

  record(point: MetricPoint): void {
    this.add({
      name: point.name,
      dimensions: { ...point.dimensions },
      unit: point.unit,
      points: 1,
      total: point.value,
    });
  }

  private add(count: PendingCount): void {
    const key = `${count.name}\u0000${JSON.stringify(count.dimensions)}`;
    const row = this.pending.get(key);
    if (!row) this.pending.set(key, count);
    else {
      row.points += count.points;
      row.total += count.total;
    }
  }

  /** Adds what was counted since the last flush to the database; kept for the next one if that fails. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.db.query(
        `INSERT INTO tenantry.metric_counts AS m (name, dimensions, unit, points, total)
         SELECT name, dimensions, unit, points, total
           FROM jsonb_to_recordset($1::jsonb)
             AS r(name text, dimensions jsonb, unit text, points bigint, total double precision)
         ON CONFLICT (name, dimensions) DO UPDATE
            SET points = m.points + excluded.points, total = m.total + excluded.total,
                updated_at = clock_timestamp()`,
        [JSON.stringify(rows)],
      );
    } catch (error) {
      for (const row of rows) this.add(row);
      logger.warn('local metrics could not be stored; kept for the next run', { error: String(error) });
    }
  }

  /** Every counted metric, by name and dimensions, what is not yet stored included. */
  async counts(): Promise<MetricCount[]> {
    await this.flush();
    // Counts of data points stay far below 2^53.
    const { rows } = await this.db.query<{
      name: string;
      dimensions: string;
      unit: string;
      points: string;
      total: number;
    }>(
      `SELECT name, dimensions::text AS dimensions, unit, points::text AS points, total
         FROM tenantry.metric_counts ORDER BY name, dimensions::text`,
    );
    return rows.map((r) => ({
      name: r.name,
      dimensions: JSON.parse(r.dimensions) as Record<string, string>,
      unit: r.unit,
      points: Number(r.points),
      total: Number(r.total),
    }));
  }
}
