// Owns the emulator's timers and deliberately held sockets, so closing never waits on either.
import type { Socket } from 'node:net'

export class Lifecycle {
  #timers = new Map<NodeJS.Timeout, (finished: boolean) => void>()
  #held = new Set<Socket>()
  #closed = false

  /** Whether close() has run: sockets ending now were cut by the emulator, not by their clients. */
  get closed (): boolean {
    return this.#closed
  }

  /** Resolves true after `ms`, or false at once if the emulator closes first. */
  sleep (ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false)
    if (ms <= 0) return Promise.resolve(true)
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        resolve(true)
      }, ms)
      this.#timers.set(timer, resolve)
    })
  }

  /** Keeps a socket open without answering until its client leaves or the emulator closes. */
  hold (socket: Socket): void {
    this.#held.add(socket)
    socket.once('close', () => this.#held.delete(socket))
  }

  close (): void {
    this.#closed = true
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer)
      resolve(false)
    }
    this.#timers.clear()
    for (const socket of this.#held) socket.destroy()
    this.#held.clear()
  }
}
