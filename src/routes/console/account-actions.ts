import { Elysia, t } from 'elysia'
import { readTransaction } from '../../../db/store'
import type { AppDeps } from '../../deps'
import { AppError } from '../../errors'
import { pageResponse } from '../../render/console/layout'
import { table } from '../../render/console/widgets'
import { html } from '../../render/html'
import { personalTeam } from '../../services/accounts'
import { requireUser, setQuotaTier } from '../../services/admin'
import type { ConsoleOperator } from '../../services/console/sessions'
import { eraseAccount, previewDeletion, refuseIfHeldNow } from '../../services/deletion'
import { createArchive } from '../../services/export-archives'
import { ORBIT_FAMILY, revokeKey, V1_FAMILY } from '../../services/keys'
import { placeHold, releaseHold } from '../../services/legal-holds'
import { activeSandboxCount } from '../../services/sandbox-lifecycle'
import { restoreAccount, softDeleteAccount } from '../../services/soft-delete'
import { actionOperator, audited, csrfField, HIDDEN, pageOperator, redirectWithNotice } from './context'

const Account = t.Object({ id: t.String({ maxLength: 100 }) })

/** The account behind an action, or 404. */
const accountOf = (deps: AppDeps, id: string) => readTransaction(deps.store, (tx) => requireUser(tx, id))

/** Erasing an account with running sandboxes is refused, as the operator API's hard delete is. */
async function refuseWithActiveSandboxes(deps: AppDeps, userId: string) {
  const active = await readTransaction(deps.store, async (tx) =>
    activeSandboxCount(tx, (await personalTeam(tx, userId)).id),
  )
  if (active > 0)
    throw new AppError(
      'ACCOUNT_HARD_DELETE_ACTIVE_RESOURCES',
      `The account still has ${active} running, creating or paused sandbox(es): stop them first.`,
    )
}

/** Typed confirmation: the account's email, exactly (case aside). */
const confirms = (typed: string | undefined, email: string) =>
  typeof typed === 'string' && typed.trim().toLowerCase() === email.toLowerCase()

function erasePage(
  operator: ConsoleOperator,
  user: { id: string; email: string },
  preview: Awaited<ReturnType<typeof previewDeletion>>,
  error?: string,
) {
  const rows = Object.entries(preview.counts).filter(([, n]) => n > 0)
  return pageResponse(
    {
      title: `Erase ${user.email}`,
      section: 'accounts',
      operator,
      body: html`<h1>Erase ${user.email}</h1>
        <p>Dry run: nothing has been erased yet. Erasing stops billing at Stripe first, then removes
        everything below, verifies it and issues a signed certificate. It cannot be undone.</p>
        ${table(
          'What the erasure would remove',
          ['Table', 'Rows'],
          rows.map(([name, n]) => [html`<code>${name}</code>`, n]),
          'No rows.',
        )}
        <p>Stripe: ${
          preview.stripe === null
            ? 'billing is not configured on this server.'
            : preview.stripe.subscriptions.length
              ? html`cancels ${preview.stripe.subscriptions.map((s) => html`<code>${s}</code> `)} and deletes customer <code>${preview.stripe.customerId}</code>.`
              : preview.stripe.customerId
                ? html`no live subscription; deletes customer <code>${preview.stripe.customerId}</code>.`
                : 'no customer.'
        }</p>
        ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
        <form method="post" action="${`/console/accounts/${user.id}/erase`}" class="stack">
          <input type="hidden" name="csrf" value="${operator.csrf}">
          <label for="confirm">Type the account's email address (${user.email}) to confirm</label>
          <input id="confirm" name="confirm" type="text" required autocomplete="off" maxlength="254">
          <button type="submit" class="danger">Erase this account now</button>
        </form>
        <p><a href="${`/console/accounts/${user.id}`}">Cancel</a></p>`,
    },
    error ? 400 : 200,
  )
}

export const consoleAccountActionRoutes = (deps: AppDeps) =>
  new Elysia()
    .get(
      '/console/accounts/:id/erase',
      async ({ request, params }) => {
        const operator = await pageOperator(deps, request)
        if (operator instanceof Response) return operator
        const user = await accountOf(deps, params.id)
        return erasePage(operator, user, await previewDeletion(deps, user.id))
      },
      { params: Account, ...HIDDEN },
    )
    .post(
      '/console/accounts/:id/erase',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const user = await accountOf(deps, params.id)
        if (!confirms(body.confirm, user.email))
          return erasePage(
            operator,
            user,
            await previewDeletion(deps, user.id),
            'The confirmation does not match the account’s email address: nothing was erased.',
          )
        await refuseWithActiveSandboxes(deps, user.id)
        const receipt = await eraseAccount(deps, user.id, 'operator')
        // The account is gone: the audit names the erasure (whose receipt carries its pseudonym).
        await audited(deps, operator, 'console.erased', { kind: 'erasure', id: receipt.id })
        return redirectWithNotice(`/console/erasures/${receipt.id}`, `Erased: step ${receipt.step}.`)
      },
      {
        params: Account,
        body: t.Object({ ...csrfField, confirm: t.Optional(t.String({ maxLength: 300 })) }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/accounts/:id/exports',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const user = await accountOf(deps, params.id)
        const archive = await createArchive(deps, user.id, body.format ?? 'json', 'operator')
        await audited(deps, operator, 'console.export_requested', {
          account: user.id,
          kind: 'archive',
          id: archive.id,
        })
        return redirectWithNotice(`/console/accounts/${user.id}`, `Export archive ${archive.id} queued.`)
      },
      {
        params: Account,
        body: t.Object({ ...csrfField, format: t.Optional(t.Union([t.Literal('json'), t.Literal('csv')])) }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/accounts/:id/tier',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const { tier } = await setQuotaTier(deps.store, deps.clock, params.id, body.tier)
        await audited(deps, operator, 'console.quota_tier_set', {
          account: params.id,
          kind: 'tier',
          id: tier.id,
        })
        return redirectWithNotice(`/console/accounts/${params.id}`, `Quota tier set to ${tier.displayName}.`)
      },
      {
        params: Account,
        body: t.Object({ ...csrfField, tier: t.String({ minLength: 1, maxLength: 64 }) }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/accounts/:id/schedule-deletion',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const user = await accountOf(deps, params.id)
        if (user.deleteScheduledAt !== null)
          throw new AppError('CONFLICT', 'The account is already scheduled for deletion.')
        await refuseIfHeldNow(deps, user.id, 'scheduled')
        await softDeleteAccount(deps, user.id)
        await audited(deps, operator, 'console.deletion_scheduled', { account: user.id })
        return redirectWithNotice(
          `/console/accounts/${user.id}`,
          `Scheduled for deletion in ${deps.config.deletionGraceDays} days.`,
        )
      },
      { params: Account, body: t.Object(csrfField), ...HIDDEN },
    )
    .post(
      '/console/accounts/:id/cancel-deletion',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const user = await accountOf(deps, params.id)
        await restoreAccount(deps, user.id)
        await audited(deps, operator, 'console.deletion_canceled', { account: user.id })
        return redirectWithNotice(`/console/accounts/${user.id}`, 'Scheduled deletion canceled.')
      },
      { params: Account, body: t.Object(csrfField), ...HIDDEN },
    )
    .post(
      '/console/accounts/:id/legal-hold',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        const until = body.until ? Date.parse(`${body.until}T23:59:59.999Z`) : null
        if (until !== null && (Number.isNaN(until) || until <= deps.clock.now()))
          throw new AppError(
            'VALIDATION_FAILED',
            'The hold’s end date must be a day in the future (YYYY-MM-DD).',
          )
        await placeHold(deps, params.id, {
          reason: body.reason,
          until,
          confidential: body.confidential === 'true',
        })
        await audited(deps, operator, 'console.legal_hold_placed', { account: params.id })
        return redirectWithNotice(`/console/accounts/${params.id}`, 'Legal hold placed.')
      },
      {
        params: Account,
        body: t.Object({
          ...csrfField,
          reason: t.String({ minLength: 1, maxLength: 1000 }),
          until: t.Optional(t.String({ maxLength: 10 })),
          confidential: t.Optional(t.String({ maxLength: 10 })),
        }),
        ...HIDDEN,
      },
    )
    .post(
      '/console/accounts/:id/legal-hold/release',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        if (!(await releaseHold(deps, params.id)))
          throw new AppError('NOT_FOUND', 'The account has no standing legal hold.')
        await audited(deps, operator, 'console.legal_hold_released', { account: params.id })
        return redirectWithNotice(`/console/accounts/${params.id}`, 'Legal hold released.')
      },
      { params: Account, body: t.Object(csrfField), ...HIDDEN },
    )
    .post(
      '/console/accounts/:id/keys/:keyId/revoke',
      async ({ request, params, body }) => {
        const operator = await actionOperator(deps, request, body)
        await revokeKey(deps.store, deps.clock, params.id, params.keyId, [...ORBIT_FAMILY, ...V1_FAMILY], {
          requireActive: true,
        })
        await audited(deps, operator, 'console.key_revoked', {
          account: params.id,
          kind: 'key',
          id: params.keyId,
        })
        return redirectWithNotice(`/console/accounts/${params.id}`, 'Key revoked: it stops working at once.')
      },
      {
        params: t.Object({ id: t.String({ maxLength: 100 }), keyId: t.String({ maxLength: 100 }) }),
        body: t.Object(csrfField),
        ...HIDDEN,
      },
    )
