// Lets TypeScript accept `import x from "./file.sql" with { type: "text" }` (Bun inlines the text).
declare module "*.sql" {
  const text: string;
  export default text;
}

declare module "*.svg" {
  const path: string;
  export default path;
}

declare module "*.txt" {
  const text: string;
  export default text;
}

declare module "*.ico" {
  const path: string;
  export default path;
}
