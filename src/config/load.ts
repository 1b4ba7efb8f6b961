/**
 * Loads the YAML configuration: expands `${ENV}` references, validates against the schema,
 * reports every problem at once with the path of the offending key, and returns a frozen object.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigSchema, type Config } from '../../schemas/config.js';
import { MeshtrailError } from '../errors.js';

/** Replaces `${NAME}` in every string of `value`; collects missing names with their paths. */
function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, missing: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) { missing.push(`${path || '(root)'}: environment variable ${name} is not set`); return ''; }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path ? `${path}.${k}` : k, missing)]));
  }
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validates a parsed document; throws ERR_CONFIG_INVALID listing every problem. */
export function parseConfig(doc: unknown, env: NodeJS.ProcessEnv = process.env, origin = 'config'): Config {
  const missing: string[] = [];
  const expanded = expandEnv(doc ?? {}, env, '', missing);
  if (missing.length) throw new MeshtrailError('ERR_CONFIG_INVALID', `${origin}:\n  ${missing.join('\n  ')}`);
  const result = ConfigSchema.safeParse(expanded);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const at = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      if (i.code === 'unrecognized_keys') return `${at ? at + '.' : ''}${i.keys.join(', ')}: unknown key`;
      return `${at || '(root)'}: ${i.message}`;
    });
    throw new MeshtrailError('ERR_CONFIG_INVALID', `${origin}:\n  ${lines.join('\n  ')}`);
  }
  return deepFreeze(result.data);
}

/** Reads and validates the configuration file at `file`. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new MeshtrailError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: true });
  } catch (cause) {
    throw new MeshtrailError('ERR_CONFIG_INVALID', `${file} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return parseConfig(doc, env, file);
}
