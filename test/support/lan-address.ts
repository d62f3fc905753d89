import { execFileSync } from 'node:child_process';

/** A non-loopback address of this machine, on an interface the tests create (needs root). */
export const LAN_ADDRESS = '10.213.7.1';
const INTERFACE = 'chatify0';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function hasAddress(): boolean {
  try {
    return execFileSync('ip', ['-o', 'addr', 'show', 'dev', INTERFACE], { encoding: 'utf8', stdio: 'pipe' }).includes(`${LAN_ADDRESS}/`);
  } catch {
    return false;
  }
}

/**
 * Makes LAN_ADDRESS an address of this machine (a dummy interface, or a veth pair), so a browser can reach the
 * server the way it would from another machine, and returns how to undo it (nothing to undo when it
 * was already there). Undefined when it cannot: an error in CI (which runs as root), a loud skip elsewhere.
 */
export function createLanAddress(): { remove: () => void } | undefined {
  if (hasAddress()) return { remove: () => undefined };
  let created = false;
  try {
    try {
      ip('link', 'add', INTERFACE, 'type', 'dummy');
    } catch {
      // Kernels without the dummy module: one end of a veth pair does as well (deleting it deletes both).
      ip('link', 'add', INTERFACE, 'type', 'veth', 'peer', 'name', `${INTERFACE}p`);
    }
    created = true;
    ip('addr', 'add', `${LAN_ADDRESS}/24`, 'dev', INTERFACE);
    ip('link', 'set', INTERFACE, 'up');
    return { remove: () => ip('link', 'delete', INTERFACE) };
  } catch (error) {
    if (created) ip('link', 'delete', INTERFACE);
    const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
    if (process.env['CI']) throw new Error(`Cannot create the ${INTERFACE} interface for ${LAN_ADDRESS}: ${reason}`);
    console.warn(`\n*** SKIPPING tests over a LAN address: cannot create the ${INTERFACE} interface (${reason}); run as root ***\n`);
    return undefined;
  }
}
