import { z } from 'zod';

/** What a shelf covers: one alarm, every alarm of a device (a maintenance window), or every alarm of a site. */
export const SHELF_SCOPES = ['alarm', 'device', 'site'] as const;
export const shelfScopeSchema = z.enum(SHELF_SCOPES);
export type ShelfScope = z.infer<typeof shelfScopeSchema>;

/**
 * A shelf (搁置) or maintenance window: while it is on, the condition-driven transitions of the alarms it covers are
 * recorded in their history but not delivered (`held`); when it ends, `alarm.unshelved` and the alarm's current
 * state go out.
 */
export const shelfSchema = z.object({
  id: z.string(),
  scope: shelfScopeSchema,
  site: z.string(),
  /** The device (scope device, and alarm: the alarm's device); null for a site. */
  device: z.string().nullable(),
  /** The alarm's id (scope alarm); null otherwise. */
  alarm: z.string().nullable(),
  reason: z.string(),
  /** Who put it on. */
  by: z.string(),
  /** When it begins and ends (ISO 8601); a window may begin later than it was declared. */
  from: z.string(),
  until: z.string(),
  /** Put on by a dispatcher: it also holds red (life-safety) transitions. An operator's never does. */
  holdsRed: z.boolean(),
  createdAt: z.string(),
  /** When it ended (its `until`, or earlier by an explicit end), and who ended it (null: it expired). */
  endedAt: z.string().nullable(),
  endedBy: z.string().nullable(),
  /**
   * Extension: alarms of its scope a red step took out of it (a shelf that may not hold red): it covers them no more,
   * so they are chased and delivered like any other alarm until it ends.
   */
  released: z.array(z.string()).optional(),
});
export type Shelf = z.infer<typeof shelfSchema>;

/** What the alarm shows while shelved (the `shelved` extension of the alarm). */
export const shelvedInfoSchema = z.object({
  shelf: z.string(),
  scope: shelfScopeSchema,
  reason: z.string(),
  by: z.string(),
  until: z.string(),
});
export type ShelvedInfo = z.infer<typeof shelvedInfoSchema>;

export const shelvedInfoOf = (shelf: Shelf): ShelvedInfo => ({
  shelf: shelf.id,
  scope: shelf.scope,
  reason: shelf.reason,
  by: shelf.by,
  until: shelf.until,
});

/** A shelf is on from its `from` until its `until` or its explicit end. */
export const shelfIsOn = (shelf: Shelf, at: number): boolean =>
  shelf.endedAt === null && Date.parse(shelf.from) <= at && at < Date.parse(shelf.until);

/** Whether a shelf covers an alarm (by id, by device, or by site). */
export const shelfCovers = (shelf: Shelf, alarm: { id: string; site: string; device: string }): boolean => {
  if (shelf.released?.includes(alarm.id)) return false;
  if (shelf.scope === 'alarm') return shelf.alarm === alarm.id;
  if (shelf.site !== alarm.site) return false;
  return shelf.scope === 'site' || shelf.device === alarm.device;
};
