import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { render, scalar } from './format.ts';
import { AppError } from '../../core/errors.ts';

const bridges = [
  { Identity: 'b1', Name: 'Conference Bridge', IsDefault: true, ServiceNumbers: [{ Number: '+14255551234', Type: 'Toll' }] },
  { Identity: 'b2', Name: 'Second', IsDefault: false, ServiceNumbers: [] },
];

describe('render', () => {
  it('prints PowerShell "Name : Value" lists by default, aligned, one block per object', () => {
    assert.equal(
      render(bridges, [], false, false),
      'Identity       : b1\nName           : Conference Bridge\nIsDefault      : True\nServiceNumbers : {+1 425-555-1234}\n\nIdentity       : b2\nName           : Second\nIsDefault      : False\nServiceNumbers : {}',
    );
  });
  it('prints a table for | ft', () => {
    const out = render(bridges, [{ kind: 'table', props: ['Name', 'isdefault'] }], false, false).split('\n');
    assert.deepEqual(out, ['Name              IsDefault', '----------------- ---------', 'Conference Bridge True', 'Second            False']);
  });
  it('keeps only the selected properties, with their canonical names', () => {
    assert.equal(render(bridges, [{ kind: 'select', props: ['name', 'Missing'] }], true, false), JSON.stringify([{ Name: 'Conference Bridge', Missing: null }, { Name: 'Second', Missing: null }], null, 2));
  });
  it('expands a property, flattening lists', () => {
    assert.equal(render(bridges, [{ kind: 'select', props: [], expand: 'servicenumbers' }], false, false), 'Number : +1 425-555-1234\nType   : Toll');
    assert.equal(render(bridges, [{ kind: 'select', props: [], expand: 'Name' }], false, false), 'Conference Bridge\nSecond');
    assert.throws(() => render(bridges, [{ kind: 'select', props: [], expand: 'Nope' }], false, false), (e: unknown) => e instanceof AppError && /no property Nope/.test(e.message));
  });
  it('applies -First', () => assert.equal(render(bridges, [{ kind: 'select', props: ['Name'], first: 1 }], false, false), 'Name : Conference Bridge'));
  it('prints JSON with the PowerShell property names: one object when single, else an array', () => {
    assert.deepEqual(JSON.parse(render([bridges[0]!], [], true, true)), bridges[0]);
    assert.deepEqual(JSON.parse(render([bridges[0]!], [], true, false)), [bridges[0]]);
  });
});

describe('scalar', () => {
  it('writes values as PowerShell does', () => {
    assert.equal(scalar(null), '');
    assert.equal(scalar(true), 'True');
    assert.equal(scalar(['en-US', 'de-DE']), '{en-US, de-DE}');
    assert.equal(scalar({ a: 1, b: false }), '{a=1; b=False}');
    assert.equal(scalar('two\r\nlines'), 'two lines');
  });
});

describe('control and invisible characters in stored data', () => {
  it('are shown escaped in lists, tables and JSON, never sent to the terminal as they are', () => {
    const rows = [{ Identity: 'u1', DisplayName: 'Ken\u009b31m \u202Eevil' }];
    for (const out of [render(rows, [], false, false), render(rows, [{ kind: 'table', props: [] }], false, false)]) {
      assert.doesNotMatch(out, /[\u009b\u202e]/);
      assert.match(out, /Ken\\u\{9b\}31m \\u\{202e\}evil/);
    }
    const json = render(rows, [], true, false);
    assert.doesNotMatch(json, /[\u009b\u202e]/);
    assert.deepEqual(JSON.parse(json), rows);
  });
});
