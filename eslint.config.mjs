import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores([
    ".next/**",
    "lib/generated/**",
    "next-env.d.ts",
    "test-results/**",
    "playwright-report/**",
  ]),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "MemberExpression[object.type='MemberExpression'][object.object.name='process'][object.property.name='env'][property.name!='NODE_ENV']",
          message: "Read configuration through lib/env.ts (validated once), not process.env.",
        },
      ],
    },
  },
  {
    // Entry scripts and tooling configure the process before lib/env.ts exists.
    files: [
      "scripts/**",
      "bench/**",
      "*.config.*",
      "e2e/**",
      "**/*.test.ts",
      "test/**",
      "prisma/**",
      "inngest-executor/**",
      "lib/env.ts",
    ],
    rules: { "no-restricted-syntax": "off" },
  },
]);
