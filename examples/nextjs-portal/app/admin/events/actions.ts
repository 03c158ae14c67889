'use server';

import { revalidatePath } from 'next/cache';
import type { ActionResult } from '@/components/ActionButton';
import { requireAdmin } from '@/lib/session';
import { tollbooth } from '@/lib/tollbooth';

/** Re-applies a stored event through the same rules (admins only, checked here again). */
export async function reprocessEvent(_prev: ActionResult, form: FormData): Promise<ActionResult> {
  await requireAdmin();
  const id = String(form.get('id') ?? '');
  if (!/^evt_[A-Za-z0-9_]{1,200}$/.test(id)) return { message: 'Invalid event id.' };
  try {
    const r = await tollbooth().reprocess(id);
    revalidatePath(`/admin/events/${id}`);
    return {
      message:
        r.outcome === 'duplicate'
          ? 'Already fully applied: nothing changed.'
          : `Reprocessed: state updated, ${r.jobs.length} job(s) written.`,
    };
  } catch (err) {
    // tollbooth's rejections carry a stable `code` (never a secret); anything else is 'error'.
    const code = (err as { code?: unknown } | null)?.code;
    return { message: `Reprocess failed: ${typeof code === 'string' ? code : 'error'}` };
  }
}
