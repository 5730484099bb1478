import { route } from '../route.js';

/** The OpenAPI document; app.ts fills in the body from the route table. */
export function openApiRoutes() {
  return [
    route({
      method: 'GET',
      url: '/api/v1/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      access: { public: true },
      handler: async () => undefined,
    }),
  ];
}
