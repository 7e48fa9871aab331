// Checks that the compiled service (dist/) imports only Node built-ins and packages listed under
// "dependencies" of services/recommender/package.json: the image installs `npm ci --omit=dev`, so a
// run-time import of a devDependency (tsx, typescript, ts-proto, ...) would crash the container.
//
// Usage: node runtime_imports.mjs DIST_DIR PACKAGE_JSON
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

const [distDir, packageJsonPath] = process.argv.slice(2);
if (!distDir || !packageJsonPath) {
  console.error('usage: node runtime_imports.mjs DIST_DIR PACKAGE_JSON');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
const prod = new Set(Object.keys(pkg.dependencies ?? {}));
const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
const builtins = new Set(builtinModules);

// Static imports/re-exports, side-effect imports, dynamic import() and require() with a literal.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;

function* jsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(full);
    else if (/\.(m|c)?js$/.test(entry.name)) yield full;
  }
}

/** 'pkg/sub' → 'pkg', '@scope/pkg/sub' → '@scope/pkg'. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const problems = [];
let files = 0;
const used = new Set();
for (const file of jsFiles(distDir)) {
  files += 1;
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[2];
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) continue;
    if (builtins.has(specifier) || builtins.has(packageName(specifier))) continue;
    const name = packageName(specifier);
    used.add(name);
    if (prod.has(name)) continue;
    const where = dev.has(name) ? 'a devDependency (not installed in the image)' : 'not a dependency at all';
    problems.push(`${path.relative(distDir, file)}: imports '${specifier}', which is ${where}`);
  }
}
if (files === 0) problems.push(`${distDir}: no compiled .js files`);
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);
console.log(`runtime imports OK: ${files} files, packages used: ${[...used].sort().join(', ')}`);
