#!/usr/bin/env python3
"""Generates kite's Kubernetes API types and JSON codecs from api/schema/*.yaml.

    generate.py --out DIR --stamp FILE SCHEMA.yaml...

For each schema (one API group version) it writes
    DIR/kite/api/<package>/<version>/types.h    structs, enum constants, codec declarations
    DIR/kite/api/<package>/<version>/codec.cpp  fromJson/toJson for every struct
    DIR/kite/api/<package>/<version>/openapi.cpp  its OpenAPI v3 document (openapi.py)
and from all schemas together
    DIR/kite/api/openapi_index.cpp, openapi_v2.cpp  group version list, swagger 2.0 document
    DIR/kite/api/patch_meta.cpp     strategic merge patch metadata tree (tables.py)
    DIR/kite/api/registry_info.cpp  the built-in resources of the `resources` sections
    DIR/kite/api/protobuf_tables.cpp  protobuf field numbers and shapes (protobuf.py)
Files are only rewritten when their content changes, so a schema edit rebuilds only what
it affects; STAMP is touched on every run. --json-out DIR also writes the OpenAPI documents
as JSON files (for inspection).

Schema format (see api/README.md):

    group: apps            # "" for the core group
    version: v1
    package: apps          # C++ namespace kite::api::<package>::<version>
    checkApiVersion: true  # false: kinds accept any apiVersion (meta types)
    resources:             # what the API server serves (registry, discovery, OpenAPI paths)
    - {kind: Deployment, plural: deployments, singular: deployment, namespaced: true,
       shortNames: [deploy], categories: [all], subresources: [scale, status],
       verbs: [...]}       # verbs default to the full set; subresources: see tables.py
    enums:
      Name: {desc: ..., values: [A, B, {name: Unset, value: ""}]}
    types:
      Name:
        desc: ...
        kind: true           # top-level object: apiVersion, kind, metadata (ObjectMeta)
        metadata: list|none  # with kind: ListMeta metadata / no metadata
        listOf: Item         # a list kind: apiVersion, kind, metadata (ListMeta), items
        structType: atomic|granular
        apiVersion: group/version  # kApiVersion when it differs from the schema's
        anyKind: true        # decode any kind (generic views such as PartialObjectMetadata)
        fields:
        - {name: json-name, type: TYPE, desc: ..., ptr: true, omitempty: false,
           required: true, patch: merge|replace|"merge,retainKeys", mergeKey: key,
           listType: atomic|set|map, listMapKeys: [k1, k2], mapType: atomic|granular,
           proto: N, protoType: UpstreamMessage}  # protobuf number (see protobuf.py)
        - {inline: OtherType}    # a Go embedded struct: its fields appear in this object

TYPE: string int32 int64 bool double Quantity IntOrString Time MicroTime RawJson bytes,
an enum name (a string with named values), a struct name (Name or package.version.Name),
list<TYPE>, map<string,TYPE>.
"""

import argparse
import os
import re
import sys

import yaml

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

SCALARS = {
    'string': ('std::string', 'StringC'),
    'int32': ('int32_t', 'Int32C'),
    'int64': ('int64_t', 'Int64C'),
    'bool': ('bool', 'BoolC'),
    'double': ('double', 'DoubleC'),
    'Quantity': ('Quantity', 'QuantityC'),
    'IntOrString': ('IntOrString', 'IntOrStringC'),
    'Time': ('Time', 'TimeC'),
    'MicroTime': ('Time', 'MicroTimeC'),
    'RawJson': ('RawJson', 'RawJsonC'),
    'bytes': ('std::string', 'BytesC'),
}
# Value-like types that Go's encoding/json never omits when they are not pointers.
ALWAYS_EMITTED = {'Quantity', 'IntOrString', 'Time', 'MicroTime'}

CPP_KEYWORDS = {
    'alignas', 'alignof', 'and', 'and_eq', 'asm', 'auto', 'bitand', 'bitor', 'bool', 'break',
    'case', 'catch', 'char', 'char8_t', 'char16_t', 'char32_t', 'class', 'compl', 'concept',
    'const', 'consteval', 'constexpr', 'constinit', 'const_cast', 'continue', 'co_await',
    'co_return', 'co_yield', 'decltype', 'default', 'delete', 'do', 'double', 'dynamic_cast',
    'else', 'enum', 'explicit', 'export', 'extern', 'false', 'float', 'for', 'friend', 'goto',
    'if', 'inline', 'int', 'long', 'mutable', 'namespace', 'new', 'noexcept', 'not', 'not_eq',
    'nullptr', 'operator', 'or', 'or_eq', 'private', 'protected', 'public', 'register',
    'reinterpret_cast', 'requires', 'return', 'short', 'signed', 'sizeof', 'static',
    'static_assert', 'static_cast', 'struct', 'switch', 'template', 'this', 'thread_local',
    'throw', 'true', 'try', 'typedef', 'typeid', 'typename', 'union', 'unsigned', 'using',
    'virtual', 'void', 'volatile', 'wchar_t', 'while', 'xor', 'xor_eq',
    # Macros in GNU modes or glibc headers; a member with such a name would break.
    'linux', 'unix', 'errno', 'major', 'minor',
}

FIELD_KEYS = {'name', 'type', 'desc', 'ptr', 'omitempty', 'required', 'patch', 'mergeKey', 'structType',
              'listType', 'listMapKeys', 'mapType', 'inline', 'proto', 'protoType'}
TYPE_KEYS = {'desc', 'kind', 'metadata', 'listOf', 'fields', 'structType', 'apiVersion',
             'anyKind'}
RESOURCE_KEYS = {'kind', 'plural', 'singular', 'namespaced', 'shortNames', 'categories', 'verbs',
                 'subresources'}
IDENT = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class SchemaError(Exception):
    pass


def member_name(json_name):
    return json_name + '_' if json_name in CPP_KEYWORDS else json_name


def cpp_comment(text, indent=''):
    text = ' '.join(str(text).split())
    out, line = [], ''
    for word in text.split(' '):
        if line and len(indent) + 3 + len(line) + 1 + len(word) > 96:
            out.append(line)
            line = word
        else:
            line = word if not line else line + ' ' + word
    if line:
        out.append(line)
    return ''.join(f'{indent}// {l}\n' for l in out)


def cpp_string(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


class Ref:
    """A resolved field type."""

    def __init__(self, kind, name=None, inner=None, schema=None):
        self.kind = kind      # scalar, enum, struct, list, map
        self.name = name      # scalar name, enum name or struct name
        self.inner = inner    # for list/map
        self.schema = schema  # owning schema for struct/enum


class Schema:
    def __init__(self, path, data):
        self.path = path
        for key in data:
            if key not in ('group', 'version', 'package', 'enums', 'types', 'checkApiVersion',
                           'resources'):
                raise SchemaError(f'{path}: unknown top-level key {key!r}')
        self.group = data.get('group', '')
        self.version = data['version']
        self.package = data['package']
        self.enums = data.get('enums') or {}
        self.types = data.get('types') or {}
        # Resources the API server serves for kinds of this group version (registry metadata).
        self.resources = data.get('resources') or []
        self.api_version = f'{self.group}/{self.version}' if self.group else self.version
        # Types shared by all groups (Status, DeleteOptions...) accept any apiVersion.
        self.check_api_version = bool(data.get('checkApiVersion', True))
        self.key = f'{self.package}.{self.version}'
        for name, t in self.types.items():
            if not IDENT.match(name):
                raise SchemaError(f'{path}: bad type name {name!r}')
            for k in t:
                if k not in TYPE_KEYS:
                    raise SchemaError(f'{path}: {name}: unknown key {k!r}')
            if 'desc' not in t:
                raise SchemaError(f'{path}: {name}: missing desc')
        for name in self.enums:
            if name in self.types:
                raise SchemaError(f'{path}: {name} is both an enum and a type')
        for r in self.resources:
            for k in r:
                if k not in RESOURCE_KEYS:
                    raise SchemaError(f'{path}: resource {r}: unknown key {k!r}')
            for k in ('kind', 'plural', 'singular', 'namespaced'):
                if k not in r:
                    raise SchemaError(f'{path}: resource {r}: missing {k}')
            if r['kind'] not in self.types or not self.types[r['kind']].get('kind'):
                raise SchemaError(f"{path}: resource {r['plural']}: {r['kind']} is not a kind")

    def namespace(self):
        return f'kite::api::{self.package}::{self.version}'


class Generator:
    def __init__(self, schemas):
        self.schemas = {s.key: s for s in schemas}
        for s in schemas:
            self.expand(s)

    # -- schema expansion ---------------------------------------------------------------

    def expand(self, s):
        """Adds the implicit fields of kinds and list kinds."""
        for name, t in s.types.items():
            fields = list(t.get('fields') or [])
            if 'listOf' in t:
                t['kind'] = True
                t.setdefault('metadata', 'list')
                fields = [{'name': 'items', 'type': f"list<{t['listOf']}>", 'omitempty': False,
                           'required': True,
                           'desc': f"The {t['listOf']} objects in this list."}] + fields
            if t.get('kind'):
                meta = t.get('metadata', 'object')
                head = [{'name': 'apiVersion', 'type': 'string', 'typeMeta': True,
                         'desc': 'Versioned schema of this object, e.g. "v1" or "apps/v1".'},
                        {'name': 'kind', 'type': 'string', 'typeMeta': True,
                         'desc': 'The kind of this object in CamelCase, e.g. "Pod".'}]
                if meta == 'object':
                    head.append({'name': 'metadata', 'type': 'meta.v1.ObjectMeta',
                                 'desc': "Standard object metadata: name, namespace, labels..."})
                elif meta == 'list':
                    head.append({'name': 'metadata', 'type': 'meta.v1.ListMeta',
                                 'desc': 'Standard list metadata: resourceVersion, continue.'})
                elif meta != 'none':
                    raise SchemaError(f'{s.path}: {name}: bad metadata {meta!r}')
                fields = head + fields
            for f in fields:
                for k in f:
                    if k not in FIELD_KEYS and k != 'typeMeta':
                        raise SchemaError(f'{s.path}: {name}: unknown field key {k!r} in {f}')
                if 'inline' not in f and ('name' not in f or 'type' not in f):
                    raise SchemaError(f'{s.path}: {name}: field needs name and type: {f}')
                if 'inline' not in f and 'desc' not in f:
                    raise SchemaError(f"{s.path}: {name}.{f['name']}: missing desc")
            t['_fields'] = fields

    # -- type resolution ----------------------------------------------------------------

    def resolve(self, s, expr, where):
        expr = expr.strip()
        m = re.match(r'^list<(.*)>$', expr)
        if m:
            return Ref('list', inner=self.resolve(s, m.group(1), where))
        m = re.match(r'^map<\s*string\s*,(.*)>$', expr)
        if m:
            return Ref('map', inner=self.resolve(s, m.group(1), where))
        if expr in SCALARS:
            return Ref('scalar', expr)
        target, name = s, expr
        if '.' in expr:
            parts = expr.split('.')
            if len(parts) != 3:
                raise SchemaError(f'{where}: qualified types are package.version.Name: {expr!r}')
            target = self.schemas.get(f'{parts[0]}.{parts[1]}')
            name = parts[2]
            if target is None:
                raise SchemaError(f'{where}: unknown group version in {expr!r}')
        if name in target.enums:
            return Ref('enum', name, schema=target)
        if name in target.types:
            return Ref('struct', name, schema=target)
        raise SchemaError(f'{where}: unknown type {expr!r}')

    def cpp_type(self, s, ref):
        if ref.kind == 'scalar':
            return SCALARS[ref.name][0]
        if ref.kind == 'enum':
            return 'std::string'
        if ref.kind == 'struct':
            return self.qualified(s, ref)
        if ref.kind == 'list':
            return f'std::vector<{self.cpp_type(s, ref.inner)}>'
        return f'std::map<std::string, {self.cpp_type(s, ref.inner)}>'

    def codec(self, s, ref):
        if ref.kind == 'scalar':
            return 'detail::' + SCALARS[ref.name][1]
        if ref.kind == 'enum':
            return 'detail::StringC'
        if ref.kind == 'struct':
            return f'detail::StructC<{self.qualified(s, ref)}>'
        if ref.kind == 'list':
            return f'detail::ListC<{self.codec(s, ref.inner)}>'
        return f'detail::MapC<{self.codec(s, ref.inner)}>'

    @staticmethod
    def qualified(s, ref):
        if ref.schema is s:
            return ref.name
        return f'{ref.schema.package}::{ref.schema.version}::{ref.name}'

    def field_info(self, s, tname, f):
        """C++ type, codec and whether the field is always written."""
        where = f"{s.path}: {tname}.{f['name']}"
        ref = self.resolve(s, str(f['type']), where)
        ptr = bool(f.get('ptr', False))
        omitempty = bool(f.get('omitempty', True))
        base_type = self.cpp_type(s, ref)
        base_codec = self.codec(s, ref)
        if ptr and ref.kind in ('list', 'map'):
            raise SchemaError(f'{where}: lists and maps cannot be ptr')
        if ref.kind == 'scalar' and ref.name == 'RawJson':
            # RawJson is its own optional: empty means unset.
            return base_type, base_codec, not omitempty, ref
        if ptr:
            return (f'std::optional<{base_type}>', f'detail::OptC<{base_codec}>',
                    not omitempty, ref)
        if ref.kind == 'struct' or (ref.kind == 'scalar' and ref.name in ALWAYS_EMITTED):
            return base_type, base_codec, True, ref  # Go never omits struct values
        return base_type, base_codec, not omitempty, ref

    def deps(self, s, tname):
        """Local struct types that must be complete before tname."""
        out = []
        for f in s.types[tname]['_fields']:
            if 'inline' in f:
                ref = self.resolve(s, f['inline'], f'{s.path}: {tname}')
            else:
                ref = self.resolve(s, str(f['type']), f'{s.path}: {tname}')
            while ref.kind in ('list', 'map'):
                ref = ref.inner
            if ref.kind == 'struct' and ref.schema is s:
                out.append(ref.name)
        return out

    def ordered_types(self, s):
        order, state = [], {}

        def visit(name, chain):
            st = state.get(name)
            if st == 'done':
                return
            if st == 'visiting':
                raise SchemaError(f"{s.path}: type cycle: {' -> '.join(chain + [name])}")
            state[name] = 'visiting'
            for d in self.deps(s, name):
                visit(d, chain + [name])
            state[name] = 'done'
            order.append(name)

        for name in s.types:
            visit(name, [])
        return order

    def flat_fields(self, s, tname):
        """(field, owner type) pairs in wire order, inline bases expanded."""
        out = []
        for f in s.types[tname]['_fields']:
            if 'inline' in f:
                ref = self.resolve(s, f['inline'], f'{s.path}: {tname}')
                if ref.kind != 'struct' or ref.schema is not s:
                    raise SchemaError(f'{s.path}: {tname}: inline needs a local struct')
                out.extend(self.flat_fields(s, ref.name))
            else:
                out.append((f, tname))
        return out

    def imports(self, s):
        keys = set()
        for tname, t in s.types.items():
            for f in t['_fields']:
                expr = f.get('inline') or str(f['type'])
                ref = self.resolve(s, expr, f'{s.path}: {tname}')
                while ref.kind in ('list', 'map'):
                    ref = ref.inner
                if ref.kind in ('struct', 'enum') and ref.schema is not s:
                    keys.add(ref.schema.key)
        return sorted(keys)

    # -- output -------------------------------------------------------------------------

    def header(self, s):
        ns = s.namespace()
        out = ['// Generated by api/codegen/generate.py from ' + os.path.basename(s.path) +
               '. Do not edit.\n',
               f'// Kubernetes API group version "{s.api_version}".\n',
               '#pragma once\n\n',
               '#include <cstdint>\n#include <map>\n#include <optional>\n#include <string>\n',
               '#include <string_view>\n#include <vector>\n\n',
               '#include "kite/api/int_or_string.h"\n#include "kite/api/json.h"\n',
               '#include "kite/api/quantity.h"\n#include "kite/api/raw_json.h"\n',
               '#include "kite/api/time.h"\n']
        for key in self.imports(s):
            dep = self.schemas[key]
            out.append(f'#include "kite/api/{dep.package}/{dep.version}/types.h"\n')
        out.append(f'\nnamespace {ns} {{\n\n')
        out.append(f'inline constexpr std::string_view kGroup = {cpp_string(s.group)};\n')
        out.append(f'inline constexpr std::string_view kVersion = {cpp_string(s.version)};\n')
        out.append(f'inline constexpr std::string_view kApiVersion = '
                   f'{cpp_string(s.api_version)};\n\n')
        for ename, e in s.enums.items():
            out.append(cpp_comment(e.get('desc', ename)))
            out.append(f'namespace {ename} {{\n')
            for v in e['values']:
                if isinstance(v, dict):
                    vname, value = v['name'], str(v['value'])
                else:
                    vname = value = str(v)
                if not IDENT.match(vname):
                    raise SchemaError(f'{s.path}: enum {ename}: {vname!r} needs a name')
                out.append(f'inline constexpr std::string_view {member_name(vname)} = '
                           f'{cpp_string(value)};\n')
            out.append(f'}}  // namespace {ename}\n\n')
        for tname in s.types:
            out.append(f'struct {tname};\n')
        out.append('\n')
        for tname in self.ordered_types(s):
            t = s.types[tname]
            out.append(cpp_comment(t['desc']))
            bases = [f['inline'] for f in t['_fields'] if 'inline' in f]
            base = (' : ' + ', '.join(f'public {b}' for b in bases)) if bases else ''
            out.append(f'struct {tname}{base} {{\n')
            if t.get('kind'):
                kind = tname
                out.append(f'  static constexpr std::string_view kApiVersion = '
                           f"{cpp_string(t.get('apiVersion', s.api_version))};\n")
                out.append(f'  static constexpr std::string_view kKind = {cpp_string(kind)};\n\n')
            names = set()
            for f in t['_fields']:
                if 'inline' in f:
                    continue
                ctype, _, _, _ = self.field_info(s, tname, f)
                mname = member_name(f['name'])
                if mname in names:
                    raise SchemaError(f'{s.path}: {tname}: duplicate field {mname}')
                names.add(mname)
                out.append(cpp_comment(f['desc'], '  '))
                init = '{}'
                if ctype in ('int32_t', 'int64_t', 'double'):
                    init = '{0}'
                elif ctype == 'bool':
                    init = '{false}'
                out.append(f'  {ctype} {mname}{init};\n')
            out.append(f'\n  bool operator==(const {tname}&) const = default;\n')
            out.append('};\n')
            out.append(f'void fromJson(const detail::JsonIn& in, {tname}& out);\n')
            out.append(f'void toJson(detail::JsonOut& w, const {tname}& v);\n\n')
        out.append(f'}}  // namespace {ns}\n')
        return ''.join(out)

    def codec_source(self, s):
        ns = s.namespace()
        out = ['// Generated by api/codegen/generate.py from ' + os.path.basename(s.path) +
               '. Do not edit.\n\n',
               f'#include "kite/api/{s.package}/{s.version}/types.h"\n\n',
               '#include "json_codec.h"\n\n',
               f'namespace {ns} {{\n',
               'namespace {\n\n']
        order = list(s.types)
        for tname in order:
            out.append(f'bool decodeMembers(detail::Members& m, {tname}& out, unsigned base);\n')
            out.append(f'void encodeMembers(detail::JsonOut& w, const {tname}& v);\n')
        out.append('\n')
        for tname in order:
            out.append(self.decode_members(s, tname))
            out.append(self.encode_members(s, tname))
        out.append('}  // namespace\n\n')
        for tname in order:
            t = s.types[tname]
            out.append(f'void fromJson(const detail::JsonIn& in, {tname}& out) {{\n')
            out.append('  detail::Members m(in);\n')
            out.append('  while (m.next()) {\n')
            out.append('    if (!decodeMembers(m, out, 0)) m.unknown();\n')
            out.append('  }\n')
            if t.get('kind') and not t.get('anyKind'):
                want = f'{tname}::kApiVersion' if s.check_api_version else '{}'
                out.append(f'  detail::checkKind(in, out.apiVersion, out.kind, '
                           f'{want}, {tname}::kKind);\n')
            out.append('}\n\n')
            out.append(f'void toJson(detail::JsonOut& w, const {tname}& v) {{\n')
            out.append('  w.startObject();\n')
            out.append('  encodeMembers(w, v);\n')
            out.append('  w.endObject();\n')
            out.append('}\n\n')
        out.append(f'}}  // namespace {ns}\n')
        return ''.join(out)

    def decode_members(self, s, tname):
        t = s.types[tname]
        if len(self.flat_fields(s, tname)) > 256:
            raise SchemaError(f'{s.path}: {tname}: more than 256 fields')
        body = []
        index = 0
        for f in t['_fields']:
            if 'inline' in f:
                base_name = f['inline']
                body.append(f'  if (decodeMembers(m, static_cast<{base_name}&>(out), '
                            f'base + {index})) return true;\n')
                index += len(self.flat_fields(s, base_name))
                continue
            _, codec, _, _ = self.field_info(s, tname, f)
            body.append(f"  if (k == {cpp_string(f['name'])}) return m.get<{codec}>("
                        f"base + {index}, out.{member_name(f['name'])});\n")
            index += 1
        head = [f'bool decodeMembers(detail::Members& m, {tname}& out, unsigned base) {{\n']
        if any('inline' not in f for f in t['_fields']):
            head.append('  const std::string_view k = m.key();\n')
        if not t['_fields']:
            head = [f'bool decodeMembers(detail::Members& /*m*/, {tname}& /*out*/, '
                    f'unsigned /*base*/) {{\n']
        return ''.join(head + body + ['  return false;\n}\n\n'])

    def encode_members(self, s, tname):
        t = s.types[tname]
        body = []
        type_meta_done = False
        for f in t['_fields']:
            if 'inline' in f:
                body.append(f"  encodeMembers(w, static_cast<const {f['inline']}&>(v));\n")
                continue
            if f.get('typeMeta'):
                if not type_meta_done:
                    body.append(f'  w.typeMeta(v.apiVersion, v.kind, {tname}::kApiVersion, '
                                f'{tname}::kKind);\n')
                    type_meta_done = True
                continue
            _, codec, always, _ = self.field_info(s, tname, f)
            body.append(f"  w.field<{codec}>({cpp_string(f['name'])}, "
                        f"v.{member_name(f['name'])}, {'true' if always else 'false'});\n")
        if not body:
            return (f'void encodeMembers(detail::JsonOut& /*w*/, const {tname}& /*v*/) {{}}\n\n')
        return (f'void encodeMembers(detail::JsonOut& w, const {tname}& v) {{\n' +
                ''.join(body) + '}\n\n')


def write_if_changed(path, content):
    try:
        with open(path, encoding='utf-8') as fh:
            if fh.read() == content:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as fh:
        fh.write(content)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--stamp')
    ap.add_argument('--json-out', help='also write the OpenAPI documents as JSON files here')
    ap.add_argument('schemas', nargs='+')
    args = ap.parse_args()
    try:
        schemas = []
        for path in args.schemas:
            with open(path, encoding='utf-8') as fh:
                schemas.append(Schema(path, yaml.safe_load(fh)))
        gen = Generator(schemas)
        for s in schemas:
            base = os.path.join(args.out, 'kite', 'api', s.package, s.version)
            write_if_changed(os.path.join(base, 'types.h'), gen.header(s))
            write_if_changed(os.path.join(base, 'codec.cpp'), gen.codec_source(s))
        # Imported here: they use Generator's resolution helpers.
        import openapi  # pylint: disable=import-outside-toplevel
        import tables  # pylint: disable=import-outside-toplevel
        import protobuf  # pylint: disable=import-outside-toplevel
        api_dir = os.path.join(args.out, 'kite', 'api')
        for name, content in openapi.sources(gen, schemas, args.json_out).items():
            write_if_changed(os.path.join(api_dir, name), content)
        write_if_changed(os.path.join(api_dir, 'patch_meta.cpp'), tables.patch_meta_source(gen))
        write_if_changed(os.path.join(api_dir, 'registry_info.cpp'),
                         tables.registry_source(gen))
        write_if_changed(os.path.join(api_dir, 'protobuf_tables.cpp'),
                         protobuf.protobuf_source(gen))
    except (SchemaError, KeyError, ValueError, yaml.YAMLError) as e:
        print(f'generate.py: error: {e}', file=sys.stderr)
        return 1
    if args.stamp:
        with open(args.stamp, 'w', encoding='utf-8') as fh:
            fh.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
