"""OpenAPI documents generated from the same schema as the C++ types.

sources(gen, schemas, json_out) returns {relative path: C++ source}:
    <package>/<version>/openapi.cpp  the OpenAPI v3 document of one group version (served at
                                     /openapi/v3/api/v1 or /openapi/v3/apis/<group>/<version>)
    openapi_index.cpp                the list of group versions, lookup, the v2 document

Definition names, $ref shapes (allOf in v3) and the x-kubernetes-* extensions follow what
the upstream API server serves, so kubectl explain and clients that read patch metadata from
OpenAPI work unchanged. Paths carry one operation per verb with its
x-kubernetes-group-version-kind, which is how kubectl explain finds a resource's kind.
"""

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

    def content(self, name, mimes):
        schema = {'$ref': self.ref(name)}
        return {m: {'schema': schema} for m in mimes}

    def operation(self, action, verb_id, gvk, response, body=None, desc=''):
        op = {'description': desc, 'operationId': verb_id,
              'tags': [gvk['tag']],
              'x-kubernetes-action': action,
              'x-kubernetes-group-version-kind': {'group': gvk['group'], 'kind': gvk['kind'],
                                                  'version': gvk['version']}}
        if self.v3:
            ok = {'description': 'OK'}
            if response:
                ok['content'] = self.content(response, MIME)
            op['responses'] = {'200': ok, '401': {'description': 'Unauthorized'}}
            if body:
                mimes = PATCH_MIME if action == 'patch' else ['*/*']
                op['requestBody'] = {'content': self.content(body, mimes), 'required': True}
        else:
            op['consumes'] = PATCH_MIME if action == 'patch' else ['*/*']
            op['produces'] = MIME
            op['schemes'] = ['https']
            ok = {'description': 'OK'}
            if response:
                ok['schema'] = {'$ref': self.ref(response)}
            op['responses'] = {'200': ok, '401': {'description': 'Unauthorized'}}
            if body:
                op['parameters'] = [{'name': 'body', 'in': 'body', 'required': True,
                                     'schema': {'$ref': self.ref(body)}}]
        return op

    def path_params(self, names):
        out = []
        for n in names:
            desc = ('object name and auth scope, such as for teams and projects'
                    if n == 'namespace' else 'name of the object')
            p = {'name': n, 'in': 'path', 'required': True, 'description': desc}
            if self.v3:
                p['schema'] = {'type': 'string', 'uniqueItems': True}
            else:
                p['type'] = 'string'
                p['uniqueItems'] = True
            out.append(p)
        return out

    def add_path(self, path, params, ops):
        if not ops:
            return
        entry = self.paths.setdefault(path, {})
        entry.update(ops)
        if params:
            entry['parameters'] = self.path_params(params)

    def add_resource(self, s, r, verbs, subresources):
        kind = r['kind']
        prefix = f'/apis/{s.group}/{s.version}' if s.group else f'/api/{s.version}'
        camel = group_camel(s.group) + s.version[:1].upper() + s.version[1:]
        tag = group_camel(s.group)[:1].lower() + group_camel(s.group)[1:] + '_' + s.version
        gvk = {'group': s.group, 'version': s.version, 'kind': kind, 'tag': tag}
        kind_def = self.add_type(s, kind)
        list_def = (self.add_type(s, kind + 'List')
                    if s.types.get(kind + 'List', {}).get('listOf') == kind else None)
        status_def = self.add_type(self.gen.schemas['meta.v1'], 'Status')
        delete_def = self.add_type(self.gen.schemas['meta.v1'], 'DeleteOptions')
        self.add_type(self.gen.schemas['meta.v1'], 'APIResourceList')
        self.add_type(self.gen.schemas['meta.v1'], 'WatchEvent')
        ns = 'Namespaced' if r['namespaced'] else ''
        params = ['namespace'] if r['namespaced'] else []
        coll = (f"{prefix}/namespaces/{{namespace}}/{r['plural']}" if r['namespaced']
                else f"{prefix}/{r['plural']}")
        ops = {}
        if 'list' in verbs and list_def:
            ops['get'] = self.operation('list', f'list{camel}{ns}{kind}', gvk, list_def,
                                        desc=f'list or watch objects of kind {kind}')
        if 'create' in verbs:
            ops['post'] = self.operation('post', f'create{camel}{ns}{kind}', gvk, kind_def,
                                         body=kind_def, desc=f'create a {kind}')
        if 'deletecollection' in verbs:
            ops['delete'] = self.operation('deletecollection',
                                           f'deletecollection{camel}{ns}{kind}', gvk,
                                           status_def, body=delete_def,
                                           desc=f'delete collection of {kind}')
        self.add_path(coll, params, ops)
        if r['namespaced'] and 'list' in verbs and list_def:
            self.add_path(f"{prefix}/{r['plural']}", [], {
                'get': self.operation('list', f'list{camel}{kind}ForAllNamespaces', gvk,
                                      list_def, desc=f'list or watch objects of kind {kind}')})
        item_ops = {}
        for verb, method, action in (('get', 'get', 'get'), ('update', 'put', 'put'),
                                     ('patch', 'patch', 'patch'), ('delete', 'delete',
                                                                   'delete')):
            if verb not in verbs:
                continue
            name = {'get': 'read', 'update': 'replace'}.get(verb, verb)
            body = {'put': kind_def, 'patch': PATCH, 'delete': delete_def}.get(method)
            response = status_def if method == 'delete' else kind_def
            item_ops[method] = self.operation(action, f'{name}{camel}{ns}{kind}', gvk,
                                              response, body=body,
                                              desc=f'{name} the specified {kind}')
        self.add_path(coll + '/{name}', params + ['name'], item_ops)
        for sub, (group, version, sub_kind, sub_verbs) in subresources:
            sub_def = self.add_kind(group, version, sub_kind)
            sub_gvk = dict(gvk, group=group, version=version, kind=sub_kind)
            title = ''.join(p[:1].upper() + p[1:] for p in sub.split('_'))
            sub_ops = {}
            for verb, method, action in (('get', 'get', 'get'), ('create', 'post', 'post'),
                                         ('update', 'put', 'put'), ('patch', 'patch', 'patch'),
                                         ('delete', 'delete', 'delete')):
                if verb not in sub_verbs:
                    continue
                name = {'get': 'read', 'update': 'replace', 'create': 'create'}.get(verb, verb)
                if sub_def is None:
                    name = 'connect' + method[:1].upper() + method[1:]
                body = None
                if sub_def and method in ('post', 'put'):
                    body = sub_def
                elif sub_def and method == 'patch':
                    body = PATCH
                self_kind = kind + title
                sub_ops[method] = self.operation(
                    'connect' if sub_def is None else action,
                    f'{name}{camel}{ns}{self_kind}', sub_gvk,
                    sub_def if sub_def else None, body=body,
                    desc=f'{name} {sub} of the specified {kind}')
            self.add_path(f'{coll}/{{name}}/{sub}', params + ['name'], sub_ops)

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
