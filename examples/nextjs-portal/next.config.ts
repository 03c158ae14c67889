import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // tollbooth is a native addon (.node): load it with Node's require at run time, never bundle it.
  serverExternalPackages: ['tollbooth'],
  poweredByHeader: false,
  // `forbidden()` (HTTP 403 from a server component) is still behind this flag in Next.js 16.
  // inlineCss: the stylesheet (about 5 KB) arrives inside the HTML, so the first paint needs no
  // second round trip; with a <link>, the async framework scripts often ran before the CSS came,
  // and the page's content (its LCP) was painted only after them (Lighthouse: 2.5-3 s of "render
  // delay" on a phone, against under 1 s for the same page when the paint won the race).
  experimental: { authInterrupts: true, inlineCss: true },
  // This example lives inside the tollbooth repository: keep Next.js from guessing a parent folder as the root.
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
};

export default nextConfig;
