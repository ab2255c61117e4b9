import { z } from 'zod';

/**
 * Who may do what, each role everything the one before it may: viewer reads; operator acknowledges and resolves
 * alarms; dispatcher (调度席位) also reads the audit log and takes what the closed-loop handling reserves for the
 * dispatcher's seat; admin also manages users, reloads rules and administers webhooks.
 */
export const ROLES = ['viewer', 'operator', 'dispatcher', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, dispatcher: 3, admin: 4 };

/** Whether `role` may do what `needed` may. */
export const roleAtLeast = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

/** The lesser of two roles (a personal token never acts above its user). */
export const lesserRole = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);
