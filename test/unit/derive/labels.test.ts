import { describe, expect, it } from 'vitest'
import { assetLabels, pythonJsonList, pythonJsonString } from '../../../src/derive/labels.js'

describe('pythonJsonList (json.dumps of a list, ensure_ascii)', () => {
  // Expected values are what CPython 3.11 `json.dumps(list)` prints.
  const cases: [string[], string][] = [
    [[], '[]'],
    [['data-team'], '["data-team"]'],
    [['data-team', 'José'], '["data-team", "Jos\\u00e9"]'],
    [['🚀ops'], '["\\ud83d\\ude80ops"]'],
    [['a"b\\c'], '["a\\"b\\\\c"]'],
    [['\n\r\t\b\f'], '["\\n\\r\\t\\b\\f"]'],
    [['\u0001\u001f\u007f'], '["\\u0001\\u001f\\u007f"]'],
    [['/~ '], '["/~ "]'],
    [['\u00ff\u0100\uffff'], '["\\u00ff\\u0100\\uffff"]'],
  ]
  it.each(cases)('%j → %s', (list, want) => {
    expect(pythonJsonList(list)).toBe(want)
  })
  it('escapes a lone surrogate like Python does', () => {
    expect(pythonJsonString('\ud800')).toBe('"\\ud800"')
  })
})

describe('assetLabels', () => {
  it('is only the id without properties', () => {
    expect(assetLabels({ key: 's3://a' })).toEqual({ 'prefect.resource.id': 's3://a' })
  })
  it('adds present properties in label order, empty strings kept', () => {
    const labels = assetLabels({
      key: 's3://a',
      properties: { owners: ['x'], url: '', description: 'd', name: '' },
    })
    expect(Object.entries(labels)).toEqual([
      ['prefect.resource.id', 's3://a'],
      ['prefect.resource.name', ''],
      ['prefect.asset.description', 'd'],
      ['prefect.asset.url', ''],
      ['prefect.asset.owners', '["x"]'],
    ])
  })
})
