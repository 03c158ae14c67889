'use server';

import { revalidatePath } from 'next/cache';
import type { ActionResult } from '@/components/ActionButton';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

/** Puts a dead-letter job back in the queue (admins only, checked here again). */
export async function replayJob(_prev: ActionResult, form: FormData): Promise<ActionResult> {
  await requireAdmin();
  const id = Number(form.get('id'));
  if (!Number.isSafeInteger(id) || id <= 0) return { message: 'Invalid job id.' };
  try {
    const newId = await tollbooth().replayJob(id);
    revalidatePath('/admin');
    return { message: `Job ${id} replayed as job ${newId}.` };
  } catch (err) {
    return { message: `Replay failed: ${(err as { code?: string }).code ?? 'error'}` };
  }
}
