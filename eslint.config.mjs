// @ts-check
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

// The layers of DESIGN.md "Shape of the code". Dependencies point one way:
// apps -> feature libs -> infrastructure and pure libs, never back.
const PURE_LIBS = ['config', 'errors', 'model-signing', 'onnx', 'artifact-scan', 'gate-engine', 'canary-judge'];
const INFRASTRUCTURE_LIBS = ['database', 'storage', 'auth', 'audit', 'metrics', 'openapi'];
// Lowest first: a feature lib may import the feature libs before it, never one after it.
const FEATURE_LIBS = ['events', 'integrity', 'catalog', 'gates', 'promotion', 'monitoring'];

// Packages that bring in Nest, the database or the server: the pure libs and the
// offline CLI load only what they run, so they import none of these.
const SERVER_PACKAGES = [/^@nestjs\//, /^typeorm$/, /^pg$/, /^@electric-sql\//, /^@aws-sdk\//, /^express$/];

const WITHOUT_SERVER_PACKAGES = new Set([...PURE_LIBS.map((lib) => `libs/${lib}`), 'apps/cli']);

function layerOf(lib) {
  if (PURE_LIBS.includes(lib)) return 'pure';
  if (INFRASTRUCTURE_LIBS.includes(lib)) return 'infrastructure';
  if (FEATURE_LIBS.includes(lib)) return 'feature';
  return undefined;
}

/** The @gatehouse libs a lib or app may import; undefined for test, bench and migrations, which may import any. */
function allowedLibsOf(unit) {
  if (unit === 'apps/cli') return PURE_LIBS;
  // The console is a browser app: it reaches the registry only through the public REST API.
  if (unit === 'apps/console') return [];
  if (unit === 'apps/registry') return [...PURE_LIBS, ...INFRASTRUCTURE_LIBS, ...FEATURE_LIBS];
  if (!unit.startsWith('libs/')) return undefined;
  const lib = unit.slice('libs/'.length);
  switch (layerOf(lib)) {
    case 'pure':
      return PURE_LIBS;
    case 'infrastructure':
      return [...PURE_LIBS, ...INFRASTRUCTURE_LIBS];
    case 'feature':
      return [...PURE_LIBS, ...INFRASTRUCTURE_LIBS, ...FEATURE_LIBS.slice(0, FEATURE_LIBS.indexOf(lib))];
  }
  return undefined;
}

/** 'libs/<name>' or 'apps/<name>' for a path in a lib or an app, else its top-level folder ('test', 'bench', 'migrations'). */
function unitOf(rootRelativePath) {
  const [top, name] = rootRelativePath.split('/');
  return top === 'libs' || top === 'apps' ? `${top}/${name}` : top;
}

/**
 * gatehouse/boundaries: the dependency direction as a check. Every import is
 * mapped to the unit it lands in, then:
 * - another lib is reached only through its index, '@gatehouse/<lib>': never
 *   '@gatehouse/<lib>/…' nor a relative or baseUrl path into libs/<lib>/;
 * - a lib or app reaches nothing outside its own folder by path, except that
 *   specs and contracts use test/fixtures and test/support, and apps run migrations/;
 * - a lib never imports from apps/;
 * - a lib or app imports only the libs allowedLibsOf gives its layer, and the
 *   pure libs and the CLI no SERVER_PACKAGES.
 * @type {import('eslint').Rule.RuleModule}
 */
const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: "Keeps imports within the layers of DESIGN.md's 'Shape of the code'" },
    schema: [],
    messages: {
      deepImport: "Import '{{lib}}' from '@gatehouse/{{lib}}', its index, not from its files.",
      selfImport: "Inside libs/{{lib}}, import its own files by relative path, not through '@gatehouse/{{lib}}'.",
      libImportsApp: 'A lib never imports from apps/ ({{target}}).',
      leavesUnit: '{{unit}} reaches outside its folder ({{target}}); only specs and contracts may use test/fixtures and test/support.',
      unlistedLib: 'libs/{{lib}} has no layer: add it to PURE_LIBS, INFRASTRUCTURE_LIBS or FEATURE_LIBS in eslint.config.mjs.',
      wrongLayer: '{{unit}} may not import @gatehouse/{{lib}} ({{layer}}): it may use {{allowed}}.',
      serverPackage: "{{unit}} must not import '{{name}}': the pure libs and the CLI stay free of Nest, the database and the server.",
    },
  },
  create(context) {
    const importer = path.relative(ROOT, context.filename).split(path.sep).join('/');
    const unit = unitOf(importer);
    const ownLib = unit.startsWith('libs/') ? unit.slice('libs/'.length) : undefined;
    const isSpecOrContract = /\.(spec|contract)\.ts$/.test(importer);

    function checkLib(node, lib) {
      if (layerOf(lib) === undefined) return context.report({ node, messageId: 'unlistedLib', data: { lib } });
      const allowed = allowedLibsOf(unit);
      if (allowed && !allowed.includes(lib)) {
        context.report({ node, messageId: 'wrongLayer', data: { unit, lib, layer: layerOf(lib), allowed: allowed.join(', ') } });
      }
    }

    function checkPath(node, target) {
      const targetUnit = unitOf(target);
      if (targetUnit === unit) return;
      if (targetUnit.startsWith('libs/')) {
        context.report({ node, messageId: 'deepImport', data: { lib: targetUnit.slice('libs/'.length) } });
        checkLib(node, targetUnit.slice('libs/'.length));
        return;
      }
      if (!unit.startsWith('libs/') && !unit.startsWith('apps/')) return;
      if (unit.startsWith('libs/') && targetUnit.startsWith('apps/')) return context.report({ node, messageId: 'libImportsApp', data: { target } });
      if (isSpecOrContract && /^test\/(fixtures|support)\//.test(target)) return;
      if (unit.startsWith('apps/') && (target === 'migrations' || target === 'migrations/index')) return;
      context.report({ node, messageId: 'leavesUnit', data: { unit, target } });
    }

    function check(node, specifier) {
      if (typeof specifier !== 'string') return;
      if (specifier.startsWith('.') || /^(libs|apps)\//.test(specifier)) {
        const base = specifier.startsWith('.') ? path.dirname(context.filename) : ROOT;
        return checkPath(node, path.relative(ROOT, path.resolve(base, specifier)).split(path.sep).join('/'));
      }
      const gatehouse = /^@gatehouse\/([^/]+)(\/.*)?$/.exec(specifier);
      if (gatehouse) {
        const [, lib, rest] = gatehouse;
        if (rest) context.report({ node, messageId: 'deepImport', data: { lib } });
        if (lib === ownLib) return context.report({ node, messageId: 'selfImport', data: { lib } });
        return checkLib(node, lib);
      }
      if (WITHOUT_SERVER_PACKAGES.has(unit) && SERVER_PACKAGES.some((pattern) => pattern.test(specifier))) {
        context.report({ node, messageId: 'serverPackage', data: { unit, name: specifier } });
      }
    }

    return {
      Program: (node) => ownLib && !layerOf(ownLib) && context.report({ node, messageId: 'unlistedLib', data: { lib: ownLib } }),
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      TSImportEqualsDeclaration: (node) => node.moduleReference.type === 'TSExternalModuleReference' && check(node.moduleReference, node.moduleReference.expression.value),
      'CallExpression[callee.name="require"][arguments.0.type="Literal"]': (node) => check(node.arguments[0], node.arguments[0].value),
    };
  },
};

export default defineConfig(
  { ignores: ['dist/', 'data/', 'coverage/', 'node_modules/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: ROOT } } },
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { gatehouse: { rules: { boundaries } }, 'import-x': importX },
    settings: {
      // import-x reads the imported files to follow cycles: TypeScript too, with paths from tsconfig.json.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: path.join(ROOT, 'tsconfig.json') })],
    },
    rules: {
      'gatehouse/boundaries': 'error',
      // A cycle is a design bug, not a forwardRef (STYLE.md). Type-only imports do not count.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Omitting a key by destructuring the rest is how this code drops fields.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // An async implementation of a Promise-returning interface (GateCheck.run, ByteSource.read) keeps
      // `async` without awaiting, so that what it throws reaches the caller as a rejection.
      '@typescript-eslint/require-await': 'off',
      // Scanners and path checks match control bytes on purpose; in TypeScript they are only written as escapes.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read JSON response bodies as `any` (test/support/api-client.ts) and assert on them with expect.
    files: ['test/**', '**/*.spec.ts', '**/*.contract.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain CommonJS, kept JavaScript so that it runs unbuilt (a forked process, jest's environment and reporter);
    // outside the TypeScript program, so without the type-checked rules.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The console's build settings: an ES module Vite loads, outside the console's TypeScript program.
    files: ['apps/console/vite.config.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
);
