import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/chatify-server.js';
import { storeContract } from './store-contract.js';

const path = join(tempDir(), 'contract.db');
storeContract('SQLite', { open: async () => new SqliteStore({ path, synchronous: 'FULL' }) });
