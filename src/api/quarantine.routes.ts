/** GET /api/v1/quarantine: input that could not be parsed, with reason, raw text and position. */
import { Router } from 'express';
import { QuarantineQuerySchema } from '../../schemas/api.js';
import { queryQuarantine } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import { validateQuery } from './problem.js';

export function quarantineRoutes(store: Store): Router {
  const router = Router();
  router.get('/quarantine', (req, res) => {
    const q = validateQuery(QuarantineQuerySchema, req.query);
    res.json(queryQuarantine(store, q));
  });
  return router;
}
