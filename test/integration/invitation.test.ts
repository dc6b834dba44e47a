import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { bridgeWithNumbers, enable, userRow } from '../support/fixtures.ts';
import { addUser } from '../../src/app/users.ts';
import { listTemplates, loadTemplateOverrides, previewTemplate, resolveTemplate, setTemplate, testSendTemplate } from '../../src/app/templates.ts';
import { ownInvitation } from '../../src/app/self-service.ts';
import { renderTemplateSet } from '../../src/core/templates/engine.ts';
import { templateValues } from '../../src/core/templates/variables.ts';
import { INVITATION_MARKER } from '../../src/core/templates/invitation.ts';

const OWN_TEXT = 'Contoso meetings by phone: {% for n in numbers %}{{ n.dial }}; {% endfor %}ID {{ conferenceIdGrouped }}';
const OWN_HTML = '<p>Contoso meetings by phone: {% for n in numbers %}<a href="{{ n.tel }}">{{ n.dial }}</a> {% endfor %}ID {{ conferenceIdGrouped }}</p>';

for (const dialect of DIALECTS) {
  describe(`the invitation block: a template kind of its own, in the welcome and on the settings page (${dialect})`, () => {
    let t: TestEnv;
    let cid: string;
    let userId: string;
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await addUser(t.scope, { UserUri: 'sip:ken@contoso.com', DisplayName: 'Ken Myer', EmailAddress: 'ken@contoso.com', Language: 'fr' });
      const [ken] = await enable(t.scope, ['sip:ken@contoso.com']);
      cid = ken!.output!.ConferenceId as string;
      userId = (await userRow(t.scope, 'sip:ken@contoso.com')).id;
    });
    after(() => t.cleanup());

    it('built in: the page block and the welcome carry the same lines, in the language asked for', async () => {
      const en = await ownInvitation(t.scope, userId, 'en');
      assert.equal(en.subject, 'Join by phone');
      assert.ok(en.text.startsWith(`Join by phone (audio only)\n+1 425-555-0100,,${cid}#\nPhone conference ID: `), en.text);
      const fr = await ownInvitation(t.scope, userId, 'fr');
      assert.equal(fr.subject, 'Rejoindre par téléphone');
      assert.match(fr.text, /ID de conférence téléphonique : /);
      const welcome = await previewTemplate(t.scope, { kind: 'welcome', language: 'fr', identity: 'ken@contoso.com' });
      assert.ok(welcome.text.includes(fr.text), 'the welcome holds the block as the page shows it');
      assert.ok(!welcome.text.includes('{% comment %}') && !welcome.html!.includes('invitation{%'), 'the marker is replaced');
    });

    it("a tenant's own block (validated on save) is what the welcome, its preview and the page render", async () => {
      await setTemplate(t.scope, 'invitation', 'en', 'text', OWN_TEXT);
      await setTemplate(t.scope, 'invitation', 'en', 'html', OWN_HTML);
      const expected = `Contoso meetings by phone: +1 425-555-0100,,${cid}#; ID ${cid.replace(/(\d{3})(?=\d)/g, '$1 ')}#`;
      assert.equal((await ownInvitation(t.scope, userId, 'en')).text, expected);
      const preview = await previewTemplate(t.scope, { kind: 'welcome', language: 'en', identity: 'ken@contoso.com' });
      assert.ok(preview.text.includes(expected), preview.text);
      assert.ok(preview.html!.includes(`<a href="tel:+14255550100,,${cid}%23">+1 425-555-0100,,${cid}#</a>`), 'one-tap link in the HTML');
      // The worker's path: the overrides as it loads them, resolved for the welcome.
      const overrides = (await loadTemplateOverrides(t.scope.db.kysely, [t.scope.tenant.id])).get(t.scope.tenant.id)!;
      const set = resolveTemplate(overrides, 'welcome', 'en');
      assert.ok(!set.text.includes(INVITATION_MARKER) && set.text.includes(OWN_TEXT));
      const mail = renderTemplateSet(set, templateValues({ displayName: 'Ken Myer', sipAddress: 'sip:ken@contoso.com', conferenceId: cid, tollNumber: '+14255550100', tollFreeNumber: null, bridgeName: 'Conference Bridge' }, 'https://dialin.test.example/dialin', '482913'));
      assert.ok(mail.text.includes(expected));
      // The French block is still the built-in one.
      assert.match((await ownInvitation(t.scope, userId, 'fr')).text, /^Rejoindre par téléphone/);
      const listed = (await listTemplates(t.scope)).filter((r) => r.Kind === 'invitation' && r.Language === 'en');
      assert.deepEqual(listed.map((r) => [r.Part, r.Source]), [['subject', 'built-in'], ['html', 'tenant'], ['text', 'tenant']]);
    });

    it('refused: the PIN in the block (it is meant to be shared), an unknown placeholder, a test send of the block', async () => {
      for (const bad of ['{{ pin }}', '{{ secret }}']) {
        await assert.rejects(setTemplate(t.scope, 'invitation', 'fr', 'text', bad), (e: { code?: string; field?: string }) => e.code === 'TEMPLATE_INVALID' && e.field === 'text');
      }
      assert.equal((await listTemplates(t.scope)).filter((r) => r.Kind === 'invitation' && r.Language === 'fr' && r.Source === 'tenant').length, 0, 'nothing saved');
      await assert.rejects(testSendTemplate(t.scope, { kind: 'invitation', language: 'en', to: 'admin@contoso.com' }), (e: { code?: string }) => e.code === 'TEMPLATE_NOT_FOUND');
    });
  });
}
