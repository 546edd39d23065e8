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

export function defineResource(definition: StaticResourceDefinition): StaticResourceDefinition {
  return definition;
}

export function defineResourceTemplate(definition: TemplateResourceDefinition): TemplateResourceDefinition {
  return definition;
}

export function isTemplateResource(definition: ResourceDefinition): definition is TemplateResourceDefinition {
  return 'uriTemplate' in definition;
}
