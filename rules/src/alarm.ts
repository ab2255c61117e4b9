import { z } from 'zod';
import { metricValueSchema } from './reading.js';
import { severitySchema } from './severity.js';
import { shelvedInfoSchema } from './shelf.js';

/** Contract §4 event types. */
export const ALARM_EVENT_TYPES = [
  'alarm.raised',
  'alarm.escalated',
  'alarm.deescalated',
  'alarm.cleared',
  'alarm.acknowledged',
  'alarm.resolved',
  'alarm.shelved',
  'alarm.unshelved',
  'alarm.overdue',
  /** Extension: the alarm changed state more than K times within a window; further raise/clear are held back. */
  'alarm.flapping',
  /** Extension: quiet again for a window; the alarm takes the condition's current state. */
  'alarm.unflapped',
  /** Extension: the alarm was assigned (or re-assigned) to a responsible person. */
  'alarm.assigned',
  /**
   * Extension: nobody acted in time, a step of an escalation policy (催办) notified more people (`alarm.chase` says
   * which step of which policy, why and whom). Not `alarm.escalated`, which is a rise in severity.
   */
  'alarm.chased',
] as const;
export const alarmEventTypeSchema = z.enum(ALARM_EVENT_TYPES);
export type AlarmEventType = z.infer<typeof alarmEventTypeSchema>;

const isoTime = z.string();

/** What was done about an alarm, recorded when it is resolved (闭环处置): the cause, the measures, who answers for it. */
export const disposalSchema = z
  .object({
    cause: z.string().trim().min(1, 'the cause is required').max(2_000),
    measures: z.string().trim().min(1, 'the measures taken are required').max(4_000),
    responsible: z.string().trim().min(1, 'the responsible person is required').max(200),
    /** A link to a photo, report or work order. */
    attachment: z.string().url().max(2_000).optional(),
  })
  .strict();
export type Disposal = z.infer<typeof disposalSchema>;

/** Why an escalation step fired: what nobody did in time, or that the alarm went overdue. */
export const CHASE_CONDITIONS = ['not_acknowledged', 'not_assigned', 'not_resolved', 'overdue'] as const;

/** One step of an escalation policy that fired (`alarm.chased`): which, why, and whom it notified. */
export const alarmChaseSchema = z.object({
  /** The policy's id (`handling.escalation[].id`). */
  policy: z.string(),
  /** The step's number in the policy, from 1. */
  step: z.number().int().positive(),
  condition: z.enum(CHASE_CONDITIONS),
  /** When the step was due (it fires at the first tick from then). */
  dueAt: isoTime,
  /** Webhook and robot subscribers (`webhooks[].id`) it goes to whatever their filters say, and the users it names. */
  notify: z.object({ subscribers: z.array(z.string()), users: z.array(z.string()) }),
  /** The user the step assigned the alarm to (it is the alarm's `assignee` from then on); absent: it assigned nobody. */
  assignee: z.string().optional(),
});
export type AlarmChase = z.infer<typeof alarmChaseSchema>;

/** The alarm as contract §4 shows it inside every event (the gateway may add fields). */
export const alarmSchema = z.object({
  id: z.string(),
  key: z.string(),
  seq: z.number().int().positive(),
  site: z.string(),
  device: z.string(),
  profile: z.string(),
  rule: z.string(),
  source: z.string(),
  severity: severitySchema,
  previousSeverity: severitySchema.nullable(),
  state: z.enum(['active', 'cleared']),
  acknowledged: z.boolean(),
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: isoTime.nullable(),
  resolved: z.boolean(),
  resolvedBy: z.string().nullable(),
  resolvedAt: isoTime.nullable(),
  note: z.string().nullable(),
  metric: z.string().nullable(),
  value: metricValueSchema.nullable(),
  threshold: z.number().nullable(),
  unit: z.string().nullable(),
  message: z.string(),
  /** Extension: `message` in Chinese, rendered from the rule's `message_zh` (or its `name_zh` and the kind's wording). */
  messageZh: z.string().optional(),
  raisedAt: isoTime,
  /**
   * Extension: when the gateway raised it — the arrival of the reading that made it true — where that is more than a
   * minute after `raisedAt` (the reading's own time): a reading sent late, from a device's backlog after an outage. Its same-day
   * deadline and its escalation steps count from here: the people who handle it learn of it now. Absent: `raisedAt`.
   */
  reportedAt: isoTime.optional(),
  clearedAt: isoTime.nullable(),
  /** How often the condition came back while this alarm stayed open. */
  occurrences: z.number().int().positive(),
  /** Extension: the alarm is flapping (see `alarm.flapping`); absent means false. */
  flapping: z.boolean().optional(),
  /** Extension: when it must be resolved — the site's same-day deadline after it was raised (absent: none set). */
  deadline: isoTime.nullable().optional(),
  /** Extension: it was still not resolved at its deadline (`alarm.overdue` went out, once); absent means false. */
  overdue: z.boolean().optional(),
  /** Extension: the responsible person it is assigned to (`alarm.assigned`), and since when. */
  assignee: z.string().nullable().optional(),
  assignedAt: isoTime.nullable().optional(),
  /** Extension: the disposal record given when it was resolved. */
  disposal: disposalSchema.nullable().optional(),
  /** Extension: the shelf or maintenance window it is under (its condition's transitions are held); absent or null: none. */
  shelved: shelvedInfoSchema.nullable().optional(),
  /** Extension: the last escalation step that fired for it (`alarm.chased`); absent: none. */
  chase: alarmChaseSchema.nullable().optional(),
});
export type Alarm = z.infer<typeof alarmSchema>;

/** One lifecycle step of one alarm; the gateway gives it an event id and delivers it. */
export interface AlarmTransition {
  type: AlarmEventType;
  at: number;
  by: string | null;
  note: string | null;
  alarm: Alarm;
  /** Recorded while a shelf covered the alarm (the shelf's id): in the history, not delivered. */
  held?: string | undefined;
}

/** Contract §4 event body: the webhook body and the SSE `data`. */
export const alarmEventSchema = z.object({
  type: alarmEventTypeSchema,
  id: z.string(),
  timestamp: isoTime,
  data: z.object({ alarm: alarmSchema }),
});
export type AlarmEvent = z.infer<typeof alarmEventSchema>;
