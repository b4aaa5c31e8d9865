import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/bindings.ts"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.strict],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
    },
  },
  {
    // One data layer: keys come from src/queryKeys.ts, and every invalidation names what it refreshes.
    files: ["src/**/*.{ts,tsx}"],
    ignores: ["src/queryKeys.ts", "src/**/*.test.{ts,tsx}", "src/test/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "Property[key.name='queryKey'] > ArrayExpression",
          message: "Name query keys through the factories of src/queryKeys.ts.",
        },
        {
          selector: "CallExpression[callee.property.name=/^(setQueryData|getQueryData)$/] > ArrayExpression.arguments",
          message: "Name query keys through the factories of src/queryKeys.ts.",
        },
        {
          selector: "CallExpression[callee.property.name='invalidateQueries'][arguments.length=0]",
          message: "Invalidate the areas a change shows in (src/queryKeys.ts), not every query.",
        },
      ],
    },
  },
);
