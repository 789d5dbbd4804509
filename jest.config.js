// Unit specs live beside the code (libs/*/src, scripts/); e2e suites in test/ drive the HTTP API.
const { compilerOptions } = require('./tsconfig.json');

const moduleNameMapper = Object.fromEntries(Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]));

module.exports = {
  rootDir: __dirname,
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/scripts/*.spec.js', '<rootDir>/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }] },
  moduleNameMapper,
  testTimeout: 120000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
