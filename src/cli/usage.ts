// A command line that cannot be run as written: the CLI prints the message and the command's usage, and exits 64.
export class UsageError extends Error {
  /** The usage text of the command that refused the line; the general usage when undefined. */
  readonly usage: string | undefined

  constructor (message: string, usage?: string) {
    super(message)
    this.usage = usage
  }

  override get name (): string { return 'UsageError' }
}
