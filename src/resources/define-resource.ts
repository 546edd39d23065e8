import type { AppContext } from '../server/app-context.js';
import type { RenderedText } from '../core/text/delimit.js';
import type { Toolset } from '../tools/define-tool.js';

/**
 * What a read returns; the server boundary turns it into the contents sent. `json` is a
 * value (sanitised and given `untrusted_notice` for an untrusted resource), `rendered` is
 * text whose untrusted parts get delimited, `text` is sent as it is only by a trusted resource.
 */
export type ResourceContents =
  | { uri: string; mimeType: string; text: string }
  | { uri: string; json: unknown }
  | { uri: string; mimeType: string; rendered: RenderedText };

interface ResourceBase {
  /** Registry name (unique), snake_case. */
  name: string;
  title: string;
  description: string;
  mimeType: string;
  /**
   * Whether the body carries text from logs, test output or other untrusted sources: the
   * boundary then sanitises every string of it, bounds it and marks it. Default true; a
   * resource of selfscope's own facts opts out with false.
   */
  untrusted?: boolean;
  /**
   * The toolset the resource serves: it is registered only in sessions that register at least
   * one tool of that toolset. None: always registered.
   */
  toolset?: Toolset;
  /** Whether clients may subscribe to `notifications/resources/updated` for it. */
  subscribable?: boolean;
  /**
   * Called when the first client session subscribes, to start whatever produces updates
   * (following the log, say); returns the function that stops it.
   */
  onSubscribe?(ctx: { app: AppContext }): Promise<() => void>;
}

/** A resource at one fixed URI. */
export interface StaticResourceDefinition extends ResourceBase {
  uri: string;
  read(ctx: { app: AppContext; uri: URL }): Promise<ResourceContents[]>;
}

/** A family of resources under an RFC 6570 URI template such as `selfscope://logs/kind/{kind}`. */
export interface TemplateResourceDefinition extends ResourceBase {
  uriTemplate: string;
  /** Lists concrete members for `resources/list`, if the family is small enough to list. */
  list?(ctx: { app: AppContext }): Promise<Array<{ uri: string; name: string }>>;
  /** Completes one template variable from what the client typed so far. */
  complete?: Record<string, (value: string, ctx: { app: AppContext }) => Promise<string[]>>;
  read(ctx: { app: AppContext; uri: URL; params: Record<string, string> }): Promise<ResourceContents[]>;
}

export type ResourceDefinition = StaticResourceDefinition | TemplateResourceDefinition;

/** The work of a resource at one URI: its module loads on the first read or subscription. */
export type StaticResourceHandlers = Pick<StaticResourceDefinition, 'read' | 'onSubscribe'>;
/** The work of a resource template: its module loads on the first read, list or completion. */
export type TemplateResourceHandlers = Pick<TemplateResourceDefinition, 'read' | 'list' | 'complete' | 'onSubscribe'>;

type Spec<D, H> = Omit<D, keyof H> & {
  /**
   * The module of the resource's work (`() => import('./handlers/x.js').then((m) => m.y)`),
   * loaded on first use, not when a client lists resources: a client waits for the lists at
   * every start.
   */
  load(): Promise<H>;
};

/**
 * What a template's module offers must be known before it is loaded (the server registers
 * completions and the list callback up front): `completes` names its completed variables,
 * `lists` says it lists members.
 */
type TemplateSpec = Spec<TemplateResourceDefinition, TemplateResourceHandlers> & { completes?: readonly string[]; lists?: boolean };

/** Loads once; a failed load is tried again on the next use. */
function once<H>(load: () => Promise<H>): () => Promise<H> {
  let loading: Promise<H> | null = null;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    }));
}

// A subscribable resource without onSubscribe is updated by others (app.notifyResourceUpdated).
async function subscribeVia(handlers: Promise<{ onSubscribe?: StaticResourceHandlers['onSubscribe'] }>, ctx: { app: AppContext }): Promise<() => void> {
  const { onSubscribe } = await handlers;
  return onSubscribe ? onSubscribe(ctx) : () => {};
}

export function defineResource(definition: Spec<StaticResourceDefinition, StaticResourceHandlers>): StaticResourceDefinition {
  const { load, ...spec } = definition;
  const handlers = once(load);
  return {
    ...spec,
    read: async (ctx) => (await handlers()).read(ctx),
    ...(spec.subscribable ? { onSubscribe: (ctx: { app: AppContext }) => subscribeVia(handlers(), ctx) } : {}),
  };
}

export function defineResourceTemplate(definition: TemplateSpec): TemplateResourceDefinition {
  const { load, completes, lists, ...spec } = definition;
  const handlers = once(load);
  const missing = (what: string) => new Error(`Resource template ${spec.name} declares ${what} but its module has none.`);
  return {
    ...spec,
    read: async (ctx) => (await handlers()).read(ctx),
    ...(lists
      ? {
          list: async (ctx: { app: AppContext }) => {
            const { list } = await handlers();
            if (!list) throw missing('lists');
            return list(ctx);
          },
        }
      : {}),
    ...(completes?.length
      ? {
          complete: Object.fromEntries(
            completes.map((variable) => [
              variable,
              async (value: string, ctx: { app: AppContext }) => {
                const complete = (await handlers()).complete?.[variable];
                if (!complete) throw missing(`completion of ${variable}`);
                return complete(value, ctx);
              },
            ]),
          ),
        }
      : {}),
    ...(spec.subscribable ? { onSubscribe: (ctx: { app: AppContext }) => subscribeVia(handlers(), ctx) } : {}),
  };
}

export function isTemplateResource(definition: ResourceDefinition): definition is TemplateResourceDefinition {
  return 'uriTemplate' in definition;
}
