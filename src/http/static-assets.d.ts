// Lets TypeScript accept the static assets imported `with { type: "file" }` (Bun gives their path).
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*/app.js" {
  const path: string;
  export default path;
}
declare module "*/chat.js" {
  const path: string;
  export default path;
}
declare module "htmx.org/dist/htmx.min.js" {
  const path: string;
  export default path;
}
declare module "htmx-ext-sse/dist/sse.min.js" {
  const path: string;
  export default path;
}
