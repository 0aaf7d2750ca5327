"""OpenAPI documents generated from the same schema as the C++ types.

sources(gen, schemas, json_out) returns {relative path: C++ source}:
    <package>/<version>/openapi.cpp  the OpenAPI v3 document of one group version (served at
                                     /openapi/v3/api/v1 or /openapi/v3/apis/<group>/<version>)
    openapi_index.cpp                the list of group versions, lookup, the v2 document

Definition names, $ref shapes (allOf in v3) and the x-kubernetes-* extensions follow what
the upstream API server serves, so kubectl explain and clients that read patch metadata from
OpenAPI work unchanged. Paths carry upstream's operations (list, create, deletecollection,
read, replace, patch, delete, the deprecated /watch/ paths, subresources and connect
operations) with upstream's operationIds, x-kubernetes-action,
x-kubernetes-group-version-kind and query parameters: kubectl explain finds a kind through
the operations, and kubectl apply/create find fieldValidation, dryRun and fieldManager on
the kind's PATCH operation (see Builder.add_resource).
"""

import dataclasses
import hashlib
import json
import os

META_PREFIX = 'io.k8s.apimachinery.pkg.apis.meta.v1'
QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity'
INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'
TIME = META_PREFIX + '.Time'
MICRO_TIME = META_PREFIX + '.MicroTime'
PATCH = META_PREFIX + '.Patch'
K8S_VERSION = 'v1.32.0'

# Definitions of the value types that are scalars on the wire.
SPECIAL_REFS = {'Quantity': QUANTITY, 'IntOrString': INT_OR_STRING, 'Time': TIME,
                'MicroTime': MICRO_TIME}
SCALARS = {
    'string': {'type': 'string'},
    'bytes': {'type': 'string', 'format': 'byte'},
    'int32': {'type': 'integer', 'format': 'int32'},
    'int64': {'type': 'integer', 'format': 'int64'},
    'bool': {'type': 'boolean'},
    'double': {'type': 'number', 'format': 'double'},
    'RawJson': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True},
}
# meta/v1 kinds accepted in every group version.
META_ALL_GROUPS = {'DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions',
                   'WatchEvent'}
MIME = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']
PATCH_MIME = ['application/json-patch+json', 'application/merge-patch+json',
              'application/strategic-merge-patch+json', 'application/apply-patch+yaml']

WATCH_MIME = ['application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch']
NAMESPACE_DESC = 'object name and auth scope, such as for teams and projects'
RESPONSE_TEXT = {'200': 'OK', '201': 'Created', '202': 'Accepted'}

# Query parameters of the API server: key in components.parameters -> (name, type,
# description). Names and types are upstream's; the descriptions are ours.
QUERY_PARAMS = {
    'allowWatchBookmarks': ('allowWatchBookmarks', 'boolean',
                            'Ask for BOOKMARK watch events; ignored when not watching.'),
    'continue': ('continue', 'string',
                 'The continue token of the previous page of a chunked list.'),
    'dryRun': ('dryRun', 'string',
               'Do not persist the change. The only value is All: run every stage.'),
    'fieldManager': ('fieldManager', 'string',
                     'Name of the actor making the change (at most 128 printable characters); '
                     'required for apply patches.'),
    'fieldSelector': ('fieldSelector', 'string',
                      'Restrict the objects returned by their fields; default everything.'),
    'fieldValidation': ('fieldValidation', 'string',
                        'What to do with unknown or duplicate fields in the body: Ignore, '
                        'Warn (the default: succeed with a warning per field) or Strict '
                        '(fail the request).'),
    'force': ('force', 'boolean',
              'Take over the fields other managers own (apply patches only).'),
    'gracePeriodSeconds': ('gracePeriodSeconds', 'integer',
                           'Seconds before the object is deleted; 0 deletes immediately, '
                           'unset uses the default of the kind.'),
    'ignoreStoreReadErrorWithClusterBreakingPotential': (
        'ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean',
        'Delete an object even if it cannot be read from storage (corrupt); unsafe.'),
    'labelSelector': ('labelSelector', 'string',
                      'Restrict the objects returned by their labels; default everything.'),
    'limit': ('limit', 'integer',
              'Maximum number of objects in one list response; more are announced by a '
              'continue token.'),
    'orphanDependents': ('orphanDependents', 'boolean',
                         'Deprecated, use propagationPolicy: orphan the dependents.'),
    'pretty': ('pretty', 'string', "If 'true', the output is indented."),
    'propagationPolicy': ('propagationPolicy', 'string',
                          'Garbage collection of dependents: Orphan, Background or '
                          'Foreground.'),
    'resourceVersion': ('resourceVersion', 'string',
                        'Which resource versions the request may be served from; '
                        'default unset (most recent).'),
    'resourceVersionMatch': ('resourceVersionMatch', 'string',
                             'How resourceVersion applies to a list: Exact or NotOlderThan.'),
    'sendInitialEvents': ('sendInitialEvents', 'boolean',
                          'Start a watch with synthetic ADDED events for the current state, '
                          'ended by a BOOKMARK.'),
    'timeoutSeconds': ('timeoutSeconds', 'integer', 'Time limit of a list or watch call.'),
    'watch': ('watch', 'boolean',
              'Watch for changes and return them as a stream of events.'),
    # pods/log
    'container': ('container', 'string', 'The container; optional when the pod has one.'),
    'follow': ('follow', 'boolean', 'Stream the log as it grows.'),
    'insecureSkipTLSVerifyBackend': ('insecureSkipTLSVerifyBackend', 'boolean',
                                     "Do not verify the kubelet's serving certificate."),
    'limitBytes': ('limitBytes', 'integer', 'Stop after this many bytes of log.'),
    'previous': ('previous', 'boolean', 'The log of the previous, terminated container.'),
    'sinceSeconds': ('sinceSeconds', 'integer', 'Only the last this many seconds of log.'),
    'stream': ('stream', 'string', 'Which stream: All, Stdout or Stderr.'),
    'tailLines': ('tailLines', 'integer', 'Only the last this many lines of log.'),
    'timestamps': ('timestamps', 'boolean', 'Prefix each line with its RFC 3339 time.'),
    # pods/exec, pods/attach, pods/portforward, */proxy
    'command': ('command', 'string', 'The command to run (repeat for each argument).'),
    'stdin': ('stdin', 'boolean', 'Redirect the standard input stream.'),
    'stdout': ('stdout', 'boolean', 'Redirect the standard output stream.'),
    'stderr': ('stderr', 'boolean', 'Redirect the standard error stream.'),
    'tty': ('tty', 'boolean', 'Allocate a terminal.'),
    'ports': ('ports', 'integer', 'Pod ports to forward (repeat for each port).'),
    'path': ('path', 'string', 'The URL path of the proxied request.'),
}
# Per operation, in upstream's set (pretty is added by the callers).
LIST_PARAMS = ['allowWatchBookmarks', 'continue', 'fieldSelector', 'labelSelector', 'limit',
               'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'timeoutSeconds',
               'watch']
DELETE_PARAMS = ['dryRun', 'gracePeriodSeconds', 'ignoreStoreReadErrorWithClusterBreakingPotential',
                 'orphanDependents', 'propagationPolicy']
DELETECOLLECTION_PARAMS = sorted(DELETE_PARAMS + [p for p in LIST_PARAMS
                                                  if p not in ('allowWatchBookmarks', 'watch')])
PATCH_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force']
LOG_PARAMS = ['container', 'follow', 'insecureSkipTLSVerifyBackend', 'limitBytes', 'previous',
              'sinceSeconds', 'stream', 'tailLines', 'timestamps']
# Connect subresources: HTTP methods and query parameters.
PROXY_METHODS = ['delete', 'get', 'head', 'options', 'patch', 'post', 'put']
CONNECT = {
    'exec': (['get', 'post'], ['command', 'container', 'stderr', 'stdin', 'stdout', 'tty']),
    'attach': (['get', 'post'], ['container', 'stderr', 'stdin', 'stdout', 'tty']),
    'portforward': (['get', 'post'], ['ports']),
    'proxy': (PROXY_METHODS, ['path']),
}


@dataclasses.dataclass
class Op:
    """What one operation is; Builder.operation renders it for v3 or v2."""
    action: str
    op_id: str
    desc: str
    tag: str
    gvk: dict
    params: list
    response: str = None  # definition name; None: a plain string
    body: str = None
    codes: tuple = ('200',)
    produces: list = dataclasses.field(default_factory=lambda: list(MIME))
    consumes: list = dataclasses.field(default_factory=lambda: ['*/*'])
    body_required: bool = True


def special_defs(v3):
    quantity = {'description': 'A fixed-point number with an optional SI or binary suffix, '
                               'e.g. 100m, 1.5Gi, 2e3.'}
    int_or_string = {'description': 'An integer or a string, e.g. 8080 or "http" or "25%".',
                     'format': 'int-or-string'}
    if v3:
        quantity['oneOf'] = [{'type': 'string'}, {'type': 'number'}]
        int_or_string['oneOf'] = [{'type': 'integer'}, {'type': 'string'}]
    else:
        quantity['type'] = 'string'
        int_or_string['type'] = 'string'
    return {
        QUANTITY: quantity,
        INT_OR_STRING: int_or_string,
        TIME: {'description': 'A time in RFC 3339 form with second precision, in UTC.',
               'type': 'string', 'format': 'date-time'},
        MICRO_TIME: {'description': 'A time in RFC 3339 form with microsecond precision.',
                     'type': 'string', 'format': 'date-time'},
        PATCH: {'description': 'A patch body: JSON patch, merge patch, strategic merge '
                               'patch or apply configuration.', 'type': 'object'},
    }


def def_name(s, tname):
    if s.package == 'meta':
        return f'{META_PREFIX}.{tname}'
    return f'io.k8s.api.{s.package}.{s.version}.{tname}'


def group_camel(group):
    if not group:
        return 'Core'
    return ''.join(p[:1].upper() + p[1:] for p in group.replace('.k8s.io', '').split('.'))


class Builder:
    """Collects the definitions (with their dependencies) and paths of one document."""

    def __init__(self, gen, v3, all_gvs):
        self.gen = gen
        self.v3 = v3
        self.all_gvs = all_gvs
        self.defs = {}
        self.paths = {}
        self.params_used = set()
        self.specials = special_defs(v3)

    # -- schemas --------------------------------------------------------------------------

    def ref(self, name):
        if name in self.specials:
            self.defs.setdefault(name, self.specials[name])
        return ('#/components/schemas/' if self.v3 else '#/definitions/') + name

    def ref_schema(self, name, default_obj=False):
        if not self.v3:
            return {'$ref': self.ref(name)}
        out = {'allOf': [{'$ref': self.ref(name)}]}
        if default_obj:
            out['default'] = {}
        return out

    def value(self, s, ref, top=False, ptr=False):
        if ref.kind == 'scalar':
            if ref.name in SPECIAL_REFS:
                return self.ref_schema(SPECIAL_REFS[ref.name])
            return dict(SCALARS[ref.name])
        if ref.kind == 'enum':
            return {'type': 'string'}
        if ref.kind == 'struct':
            self.add_type(ref.schema, ref.name)
            return self.ref_schema(def_name(ref.schema, ref.name), default_obj=not ptr)
        inner = self.value(s, ref.inner)
        if ref.kind == 'list':
            return {'type': 'array', 'items': inner}
        return {'type': 'object', 'additionalProperties': inner}

    def field(self, s, tname, f):
        ref = self.gen.resolve(s, str(f['type']), f'{s.path}: {tname}.{f["name"]}')
        out = self.value(s, ref, top=True, ptr=bool(f.get('ptr')))
        out['description'] = ' '.join(str(f['desc']).split())
        if f.get('listType'):
            out['x-kubernetes-list-type'] = f['listType']
        if f.get('listMapKeys'):
            out['x-kubernetes-list-map-keys'] = list(f['listMapKeys'])
        if f.get('mapType'):
            out['x-kubernetes-map-type'] = f['mapType']
        if f.get('structType'):
            out['x-kubernetes-map-type'] = f['structType']
        if f.get('patch'):
            out['x-kubernetes-patch-strategy'] = f['patch']
        if f.get('mergeKey'):
            out['x-kubernetes-patch-merge-key'] = f['mergeKey']
        return out

    def gvks(self, s, tname, t):
        if s.package == 'meta':
            if tname in META_ALL_GROUPS:
                return [{'group': g, 'kind': tname, 'version': v} for g, v in self.all_gvs]
            if tname == 'Status':
                return [{'group': '', 'kind': tname, 'version': 'v1'}]
            return None
        api_version = t.get('apiVersion', s.api_version)
        group, _, version = api_version.rpartition('/')
        return [{'group': group, 'kind': tname, 'version': version}]

    def add_type(self, s, tname):
        name = def_name(s, tname)
        if name in self.defs:
            return name
        self.defs[name] = None  # placeholder while the fields are built
        t = s.types[tname]
        props, required = {}, []
        for f, owner in self.gen.flat_fields(s, tname):
            props[f['name']] = self.field(s, owner, f)
            if f.get('required'):
                required.append(f['name'])
        out = {'description': ' '.join(str(t['desc']).split()), 'type': 'object'}
        if props:
            out['properties'] = props
        if required:
            out['required'] = required
        if t.get('structType') == 'atomic':
            out['x-kubernetes-map-type'] = 'atomic'
        if t.get('kind'):
            gvks = self.gvks(s, tname, t)
            if gvks:
                out['x-kubernetes-group-version-kind'] = gvks
        self.defs[name] = out
        return name

    def add_kind(self, group, version, kind):
        """Definition name of a kind given by group, version and name."""
        for s in self.gen.schemas.values():
            if s.group == group and s.version == version and kind in s.types:
                return self.add_type(s, kind)
        # Options kinds of connect subresources (PodExecOptions...) are not modelled.
        return None

    # -- paths ----------------------------------------------------------------------------
    #
    # Every operation carries operationId, x-kubernetes-action and
    # x-kubernetes-group-version-kind as upstream names them, and upstream's query
    # parameters. kubectl decides whether the server validates fields (and supports
    # server-side dry run) by looking for fieldValidation (dryRun, fieldManager) among the
    # parameters of the kind's PATCH operation. In v3 the parameters are written inline, as
    # upstream does: kubectl 1.32 looks a $ref up as components.parameters[ref minus
    # "#/parameters/"], so a standard "#/components/parameters/..." reference is not found
    # and kubectl falls back to /openapi/v2 in protobuf. Swagger 2.0 has top-level
    # parameters, so v2 shares them by $ref (as upstream's v2 document does). As upstream,
    # parameters that every operation of a path takes (path parameters, pretty, all of them
    # on single-operation paths) sit on the path item.

    def query_param(self, key):
        name, ptype, desc = QUERY_PARAMS[key]
        p = {'name': name, 'in': 'query', 'description': desc}
        if self.v3:
            p['schema'] = {'type': ptype, 'uniqueItems': True}
            return p
        self.params_used.add(key)
        return {'$ref': '#/parameters/' + key}

    def query_param_defs(self):
        """The shared parameters of the v2 document."""
        out = {}
        for key in sorted(self.params_used):
            name, ptype, desc = QUERY_PARAMS[key]
            out[key] = {'name': name, 'in': 'query', 'description': desc, 'type': ptype,
                        'uniqueItems': True}
        return out

    def path_param(self, name, desc):
        p = {'name': name, 'in': 'path', 'required': True, 'description': desc}
        if self.v3:
            p['schema'] = {'type': 'string', 'uniqueItems': True}
        else:
            p['type'] = 'string'
            p['uniqueItems'] = True
        return p

    def content(self, schema, mimes):
        return {m: {'schema': schema} for m in mimes}

    def schema_of(self, name):
        """Response or body schema: a definition name, or None for a plain string."""
        if name is None:
            return {'type': 'string'}
        return {'$ref': self.ref(name)}

    def responses(self, codes, schema, mimes):
        out = {}
        for code in codes:
            r = {'description': RESPONSE_TEXT[code]}
            if self.v3:
                r['content'] = self.content(schema, mimes)
            else:
                r['schema'] = schema
            out[code] = r
        if not self.v3:
            out['401'] = {'description': 'Unauthorized'}
        return out

    def operation(self, spec):
        """One operation from an Op: (action, operationId, gvk, params, response, ...)."""
        op = {'description': spec.desc, 'operationId': spec.op_id, 'tags': [spec.tag],
              'x-kubernetes-action': spec.action,
              'x-kubernetes-group-version-kind': dict(spec.gvk)}
        body = None
        if spec.body:
            body = {'$ref': self.ref(spec.body)}
        response = self.schema_of(spec.response)
        if self.v3:
            if body:
                op['requestBody'] = {'content': self.content(body, spec.consumes)}
                if spec.body_required:
                    op['requestBody']['required'] = True
            op['responses'] = self.responses(spec.codes, response, spec.produces)
        else:
            op['consumes'] = spec.consumes
            op['produces'] = spec.produces
            op['schemes'] = ['https']
            if body:
                op['parameters'] = [{'name': 'body', 'in': 'body', 'required': spec.body_required,
                                     'schema': body}]
            op['responses'] = self.responses(spec.codes, response, spec.produces)
        return op

    def add_path(self, path, path_params, ops):
        """ops: {method: Op}. Hoists the query parameters common to all operations."""
        if not ops:
            return
        common = None
        for spec in ops.values():
            keys = set(spec.params)
            common = keys if common is None else common & keys
        entry = {}
        for method, spec in ops.items():
            op = self.operation(spec)
            own = [self.query_param(k) for k in spec.params if k not in common]
            if own:
                op.setdefault('parameters', []).extend(own)
            entry[method] = op
        params = [self.path_param(n, d) for n, d in path_params]
        params += [self.query_param(k) for k in sorted(common)]
        if params:
            entry['parameters'] = params
        if path in self.paths:
            raise ValueError(f'OpenAPI path {path} generated twice')
        self.paths[path] = entry

    def add_resource(self, s, r, verbs, subresources):
        kind = r['kind']
        plural = r['plural']
        prefix = f'/apis/{s.group}/{s.version}' if s.group else f'/api/{s.version}'
        camel = group_camel(s.group) + s.version[:1].upper() + s.version[1:]
        tag = group_camel(s.group)[:1].lower() + group_camel(s.group)[1:] + '_' + s.version
        gvk = {'group': s.group, 'kind': kind, 'version': s.version}
        kind_def = self.add_type(s, kind)
        list_def = (self.add_type(s, kind + 'List')
                    if s.types.get(kind + 'List', {}).get('listOf') == kind else None)
        meta = self.gen.schemas['meta.v1']
        status_def = self.add_type(meta, 'Status')
        delete_def = self.add_type(meta, 'DeleteOptions')
        watch_def = self.add_type(meta, 'WatchEvent')
        self.add_type(meta, 'APIResourceList')
        namespaced = r['namespaced']
        ns = 'Namespaced' if namespaced else ''
        ns_params = [('namespace', NAMESPACE_DESC)] if namespaced else []
        name_params = ns_params + [('name', f'name of the {kind}')]
        scope = f'/namespaces/{{namespace}}/{plural}' if namespaced else f'/{plural}'
        coll = prefix + scope
        item = coll + '/{name}'

        def op(action, op_id, desc, params, response, body=None, codes=('200',), **kw):
            return Op(action=action, op_id=op_id, desc=desc, tag=tag, gvk=kw.pop('gvk', gvk),
                      params=params, response=response, body=body, codes=codes, **kw)

        write = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty']
        has_list = 'list' in verbs and list_def
        ops = {}
        if has_list:
            ops['get'] = op('list', f'list{camel}{ns}{kind}', f'list or watch {kind} objects',
                            LIST_PARAMS + ['pretty'], list_def, produces=MIME + WATCH_MIME)
        if 'create' in verbs:
            ops['post'] = op('post', f'create{camel}{ns}{kind}', f'create a {kind}', write,
                             kind_def, body=kind_def, codes=('200', '201', '202'),
                             consumes=['*/*'])
        if 'deletecollection' in verbs:
            ops['delete'] = op('deletecollection', f'deletecollection{camel}{ns}{kind}',
                               f'delete a collection of {kind} objects',
                               DELETECOLLECTION_PARAMS + ['pretty'], status_def,
                               body=delete_def, body_required=False, consumes=['*/*'])
        self.add_path(coll, ns_params, ops)
        if namespaced and has_list:
            self.add_path(prefix + f'/{plural}', [], {'get': op(
                'list', f'list{camel}{kind}ForAllNamespaces',
                f'list or watch {kind} objects in all namespaces', LIST_PARAMS + ['pretty'],
                list_def, produces=MIME + WATCH_MIME)})

        ops = {}
        if 'get' in verbs:
            ops['get'] = op('get', f'read{camel}{ns}{kind}', f'read the {kind}', ['pretty'],
                            kind_def)
        if 'update' in verbs:
            ops['put'] = op('put', f'replace{camel}{ns}{kind}', f'replace the {kind}', write,
                            kind_def, body=kind_def, codes=('200', '201'), consumes=['*/*'])
        if 'patch' in verbs:
            ops['patch'] = op('patch', f'patch{camel}{ns}{kind}', f'partially update the {kind}',
                              PATCH_PARAMS + ['pretty'], kind_def, body=PATCH,
                              codes=('200', '201'), consumes=PATCH_MIME)
        if 'delete' in verbs:
            ops['delete'] = op('delete', f'delete{camel}{ns}{kind}', f'delete a {kind}',
                               DELETE_PARAMS + ['pretty'], status_def, body=delete_def,
                               body_required=False, codes=('200', '202'), consumes=['*/*'])
        self.add_path(item, name_params, ops)

        # The deprecated /watch/ paths, still served and still documented upstream.
        if 'watch' in verbs and has_list:
            wprefix = prefix + '/watch'
            watch = LIST_PARAMS + ['pretty']
            self.add_path(wprefix + scope, ns_params, {'get': op(
                'watchlist', f'watch{camel}{ns}{kind}List',
                f'watch changes to a list of {kind} (deprecated: use list with watch=true)',
                watch, watch_def, produces=MIME + WATCH_MIME)})
            self.add_path(wprefix + scope + '/{name}', name_params, {'get': op(
                'watch', f'watch{camel}{ns}{kind}',
                f'watch changes to one {kind} (deprecated: use list with watch=true and a '
                'metadata.name field selector)', watch, watch_def, produces=MIME + WATCH_MIME)})
            if namespaced:
                self.add_path(wprefix + f'/{plural}', [], {'get': op(
                    'watchlist', f'watch{camel}{kind}ListForAllNamespaces',
                    f'watch changes to a list of {kind} in all namespaces (deprecated: use '
                    'list with watch=true)', watch, watch_def, produces=MIME + WATCH_MIME)})

        for sub, (group, version, sub_kind, sub_verbs) in subresources:
            title = sub[:1].upper() + sub[1:]
            path = f'{item}/{sub}'
            sub_gvk = {'group': group, 'kind': sub_kind, 'version': version}
            if sub in CONNECT:
                methods, params = CONNECT[sub]
                for suffix, extra in (('', []), ('WithPath', [('path', 'path to the resource')])):
                    if suffix and sub != 'proxy':
                        continue
                    ops = {}
                    for method in methods:
                        verb = method[:1].upper() + method[1:]
                        ops[method] = op(
                            'connect', f'connect{camel}{verb}{ns}{kind}{title}{suffix}',
                            f'connect {method.upper()} requests to {sub} of the {kind}', params,
                            None, gvk=sub_gvk, produces=['*/*'], consumes=['*/*'])
                    self.add_path(path + ('/{path}' if suffix else ''), name_params + extra, ops)
                continue
            if sub == 'log':
                self.add_path(path, name_params, {'get': op(
                    'get', f'read{camel}{ns}{kind}Log', f'read the log of the {kind}',
                    LOG_PARAMS + ['pretty'], None, gvk=sub_gvk,
                    produces=['text/plain'] + MIME)})
                continue
            sub_def = self.add_kind(group, version, sub_kind)
            if sub_def is None:
                raise ValueError(f'{s.path}: {plural}/{sub}: kind {group}/{version} '
                                 f'{sub_kind} is not in any schema')
            ops = {}
            if 'get' in sub_verbs:
                ops['get'] = op('get', f'read{camel}{ns}{kind}{title}',
                                f'read {sub} of the {kind}', ['pretty'], sub_def, gvk=sub_gvk)
            if 'create' in sub_verbs:
                ops['post'] = op('post', f'create{camel}{ns}{kind}{title}',
                                 f'create {sub} of a {kind}', write, sub_def, body=sub_def,
                                 codes=('200', '201', '202'), gvk=sub_gvk, consumes=['*/*'])
            if 'update' in sub_verbs:
                ops['put'] = op('put', f'replace{camel}{ns}{kind}{title}',
                                f'replace {sub} of the {kind}', write, sub_def, body=sub_def,
                                codes=('200', '201'), gvk=sub_gvk, consumes=['*/*'])
            if 'patch' in sub_verbs:
                ops['patch'] = op('patch', f'patch{camel}{ns}{kind}{title}',
                                  f'partially update {sub} of the {kind}',
                                  PATCH_PARAMS + ['pretty'], sub_def, body=PATCH,
                                  codes=('200', '201'), gvk=sub_gvk, consumes=PATCH_MIME)
            self.add_path(path, name_params, ops)

    def document(self, title_version):
        schemas = {k: v for k, v in sorted(self.defs.items())}
        if self.v3:
            return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': title_version},
                    'paths': dict(sorted(self.paths.items())),
                    'components': {
                        'schemas': schemas,
                        'securitySchemes': {'BearerToken': {
                            'type': 'apiKey', 'in': 'header', 'name': 'authorization',
                            'description': 'Bearer token authentication'}}},
                    'security': [{'BearerToken': []}]}
        return {'swagger': '2.0', 'info': {'title': 'Kubernetes', 'version': title_version},
                'paths': dict(sorted(self.paths.items())),
                'definitions': schemas,
                'parameters': self.query_param_defs(),
                'securityDefinitions': {'BearerToken': {
                    'type': 'apiKey', 'in': 'header', 'name': 'authorization',
                    'description': 'Bearer token authentication'}},
                'security': [{'BearerToken': []}]}


def subresources_of(s, r):
    import tables  # pylint: disable=import-outside-toplevel
    return [(name, tables.subresource(s, r, name)) for name in r.get('subresources') or []]


def verbs_of(r):
    import tables  # pylint: disable=import-outside-toplevel
    return r.get('verbs') or tables.DEFAULT_VERBS


def encode(doc):
    return json.dumps(doc, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def cpp_document(fn_name, text, comment):
    if ')kite"' in text:
        raise ValueError('OpenAPI text contains the raw string delimiter')
    size = len(text.encode('utf-8'))
    return ''.join([
        f'// Generated by api/codegen/generate.py from api/schema/*.yaml. Do not edit.\n',
        f'// {comment}\n\n',
        '#include <string_view>\n\n',
        '// The document is one long literal on purpose: no start-up cost, no allocation.\n',
        '#pragma GCC diagnostic ignored "-Woverlength-strings"\n\n',
        'namespace kite::api::detail {\n\n',
        f'std::string_view {fn_name}();\n',
        f'std::string_view {fn_name}() {{\n',
        f'  static constexpr std::string_view kDoc{{R"kite({text})kite", {size}}};\n',
        '  return kDoc;\n}\n\n',
        '}  // namespace kite::api::detail\n'])


def sources(gen, schemas, json_out=None):
    served = [s for s in schemas if s.resources]
    all_gvs = [(s.group, s.version) for s in served]
    out = {}
    index_rows = []
    gv_rows = []
    decls = []
    v2 = Builder(gen, v3=False, all_gvs=all_gvs)
    for s in schemas:
        fn = f'openApiV3_{s.package}_{s.version}'
        if not s.resources:
            out[f'{s.package}/{s.version}/openapi.cpp'] = (
                '// Generated by api/codegen/generate.py. Do not edit.\n'
                f'// {s.api_version} serves no resources, so it has no OpenAPI document.\n')
            continue
        b = Builder(gen, v3=True, all_gvs=all_gvs)
        for tname, t in s.types.items():
            if t.get('kind'):
                b.add_type(s, tname)
        for r in s.resources:
            b.add_resource(s, r, verbs_of(r), subresources_of(s, r))
            v2.add_resource(s, r, verbs_of(r), subresources_of(s, r))
        text = encode(b.document('unversioned'))
        path = f'api/{s.version}' if not s.group else f'apis/{s.group}/{s.version}'
        digest = hashlib.sha512(text.encode('utf-8')).hexdigest().upper()
        out[f'{s.package}/{s.version}/openapi.cpp'] = cpp_document(
            fn, text, f'OpenAPI v3 document of {s.api_version}, served at /openapi/v3/{path}.')
        decls.append(f'std::string_view {fn}();\n')
        gv_rows.append(f'    {{"{s.api_version}", "{path}", "{digest}"}},\n')
        index_rows.append(fn)
        if json_out:
            os.makedirs(os.path.join(json_out, 'v3'), exist_ok=True)
            with open(os.path.join(json_out, 'v3', path.replace('/', '_') + '.json'), 'w',
                      encoding='utf-8') as fh:
                fh.write(text)
    for s in schemas:
        for tname, t in s.types.items():
            if t.get('kind'):
                v2.add_type(s, tname)
    v2_text = encode(v2.document(K8S_VERSION))
    v2_digest = hashlib.sha512(v2_text.encode('utf-8')).hexdigest().upper()
    out['openapi_v2.cpp'] = cpp_document('openApiV2', v2_text,
                                         'OpenAPI v2 (swagger 2.0) document, served at /openapi/v2.')
    if json_out:
        with open(os.path.join(json_out, 'v2.json'), 'w', encoding='utf-8') as fh:
            fh.write(v2_text)
    out['openapi_index.cpp'] = ''.join([
        '// Generated by api/codegen/generate.py from api/schema/*.yaml. Do not edit.\n\n',
        '#include <cstddef>\n#include <iterator>\n#include <span>\n#include <string_view>\n\n',
        '#include "kite/api/openapi.h"\n\n',
        'namespace kite::api {\n',
        'namespace detail {\n', *decls, 'std::string_view openApiV2();\n',
        '}  // namespace detail\n\n',
        'namespace {\n\n',
        'constexpr OpenApiGroupVersion kGroupVersions[] = {\n', *gv_rows, '};\n\n',
        '// Same order as kGroupVersions.\n',
        'constexpr std::string_view (*kDocuments[])() = {\n',
        *[f'    &detail::{fn},\n' for fn in index_rows], '};\n\n',
        '}  // namespace\n\n',
        'std::span<const OpenApiGroupVersion> openApiV3GroupVersions() { return kGroupVersions; }\n\n',
        'std::string_view openApiV3Document(std::string_view groupVersion) {\n',
        '  for (std::size_t i = 0; i < std::size(kGroupVersions); ++i) {\n',
        '    const auto& gv = kGroupVersions[i];\n',
        '    if (gv.groupVersion == groupVersion || gv.path == groupVersion) '
        'return kDocuments[i]();\n',
        '  }\n  return {};\n}\n\n',
        'std::string_view openApiV2Document() { return detail::openApiV2(); }\n\n',
        f'std::string_view openApiV2Hash() {{ return "{v2_digest}"; }}\n\n',
        '}  // namespace kite::api\n'])
    return out
