import { z } from 'zod';

/** A user's name as people write it (王丽, wang.li, Wang Li): letters of any script, digits, inner spaces, `. _ @ -`. */
export const userNameSchema = z
  .string()
  .regex(/^[\p{L}\p{N}._@-](?:[\p{L}\p{N} ._@-]{0,62}[\p{L}\p{N}._@-])?$/u, 'expected 1–64 letters, digits, inner spaces or . _ @ -');
