import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // tollbooth is a native addon (.node): load it with Node's require at run time, never bundle it.
  serverExternalPackages: ['tollbooth'],
  poweredByHeader: false,
  // `forbidden()` (HTTP 403 from a server component) is still behind this flag in Next.js 16.
  experimental: { authInterrupts: true },
  // This example lives inside the tollbooth repository: keep Next.js from guessing a parent folder as the root.
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
};

export default nextConfig;
