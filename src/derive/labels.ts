/** Resource labels of assets (SPEC §2.3). */
import type { AssetRef, Labels } from './types.js'

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
}

/**
 * A string as Python's `json.dumps` writes it with its default `ensure_ascii=True`: every UTF-16
 * unit outside printable ASCII as `\uXXXX` in lowercase hex (so characters past the BMP become
 * surrogate pairs, as in `json.encoder.py_encode_basestring_ascii`).
 */
export function pythonJsonString(s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const short = SHORT_ESCAPES[c]
    if (short !== undefined) out += short
    else if (c >= 0x20 && c <= 0x7e) out += s[i]
    else out += '\\u' + c.toString(16).padStart(4, '0')
  }
  return out + '"'
}

/** A list of strings as Python's `json.dumps(list)`: `", "` between the items. */
export const pythonJsonList = (items: readonly string[]): string =>
  '[' + items.map(pythonJsonString).join(', ') + ']'

/** `prefect.resource.id` = key, then the properties that are present and not null. */
export function assetLabels(ref: AssetRef): Labels {
  const labels: Record<string, string> = { 'prefect.resource.id': ref.key }
  const p = ref.properties
  if (p !== undefined) {
    if (p.name !== undefined) labels['prefect.resource.name'] = p.name
    if (p.description !== undefined) labels['prefect.asset.description'] = p.description
    if (p.url !== undefined) labels['prefect.asset.url'] = p.url
    if (p.owners !== undefined) labels['prefect.asset.owners'] = pythonJsonList(p.owners)
  }
  return labels
}
