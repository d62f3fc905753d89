import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/chatify-server.js';
import { connectionContract } from './connection-contract.js';
import { storeContract } from './store-contract.js';
import { treeContract } from './tree-contract.js';
import { memoryContract } from './memory-contract.js';

const path = join(tempDir(), 'contract.db');
storeContract('SQLite', { open: async () => new SqliteStore({ path, synchronous: 'FULL' }) });

const connectionsPath = join(tempDir(), 'connections.db');
connectionContract('SQLite', { open: async () => new SqliteStore({ path: connectionsPath, synchronous: 'FULL' }) });

const treePath = join(tempDir(), 'tree.db');
treeContract('SQLite', { open: async () => new SqliteStore({ path: treePath, synchronous: 'FULL' }) });

const memoryPath = join(tempDir(), 'memories.db');
memoryContract('SQLite', 'sqlite', { open: async () => new SqliteStore({ path: memoryPath, synchronous: 'FULL' }) });
