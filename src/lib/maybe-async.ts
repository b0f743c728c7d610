/**
 * `fn(value)`, now when `value` is already there, or once it arrives. Hot paths answer from
 * caches synchronously and read the store (a promise) only on a miss; this keeps the common case
 * free of an await (one costs a microtask turn on every request).
 */
export function andThen<T, R>(value: T | Promise<T>, fn: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}
