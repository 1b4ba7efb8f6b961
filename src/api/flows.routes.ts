/** GET /api/v1/flows: flows in time order, filtered, cursor-paginated. */
import { Router } from 'express';
import { FlowsQuerySchema } from '../../schemas/api.js';
import { queryFlows } from '../store/flows.query.js';
import type { Store } from '../store/store.js';
import { validateQuery } from './problem.js';

export function flowsRoutes(store: Store): Router {
  const router = Router();
  router.get('/flows', (req, res) => {
    const q = validateQuery(FlowsQuerySchema, req.query);
    res.json(queryFlows(store, q));
  });
  return router;
}
