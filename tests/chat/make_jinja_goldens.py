#!/usr/bin/env python3
"""Writes tests/data/chat/jinja_goldens.json: template cases rendered by
Jinja2 in the environment transformers' apply_chat_template uses
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
its tojson, raise_exception and strftime_now). jinja_golden_test.cc renders
the same cases with Tern's interpreter and compares.

Usage: python3 tests/chat/make_jinja_goldens.py  (needs jinja2 >= 3.1)
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    def strftime_now(format):
        return datetime.now().strftime(format)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# (name, template, variables). Variables are JSON values.
CASES = [
    # Text and whitespace control.
    ("plain_text", "Hello, world!", {}),
    ("trailing_newline_dropped", "line\n", {}),
    ("only_one_trailing_newline_dropped", "line\n\n", {}),
    ("crlf_becomes_lf", "a\r\nb\rc", {}),
    ("variable", "Hello {{ name }}!", {"name": "Tern"}),
    ("strip_before_and_after", "a  \n  {{- x -}}  \n  b", {"x": "X"}),
    ("block_strip", "a\n  {%- if true -%}\n  yes  \n  {%- endif -%}\n  b", {}),
    ("trim_blocks_eats_one_newline", "{% if true %}\nyes\n{% endif %}\nafter", {}),
    ("lstrip_blocks_eats_indent", "x\n    {% if true %}\n    body\n    {% endif %}\ny", {}),
    ("lstrip_keeps_text_before_tag", "x  {% if true %}y{% endif %}", {}),
    ("plus_disables_lstrip", "x\n    {%+ if true %}y{% endif %}", {}),
    ("plus_disables_trim", "{% if true +%}\nyes{% endif %}", {}),
    ("variable_tags_not_lstripped", "x\n    {{ 1 }}\n", {}),
    ("comment", "a {# a comment #} b\n{# another #}\nc", {}),
    ("comment_strip", "a {#- c -#} b", {}),
    ("raw_block", "{% raw %}{{ not evaluated }}{% endraw %}", {}),
    ("indented_blocks", "{% for i in [1, 2] %}\n  {% if i > 1 %}\n    big {{ i }}\n  {% else %}\n    small {{ i }}\n  {% endif %}\n{% endfor %}", {}),
    # Literals and printing.
    ("print_literals", "{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 2.0 }} {{ 1e-5 }} {{ 1e20 }} {{ true }} {{ none }} {{ 'q' }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 1.0] }} {{ {'k': 'v', 'n': [1]} }} {{ (1,) }} {{ (1, 2) }} {{ () }}", {}),
    ("print_string_repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\there\\n'] }}", {}),
    ("print_unicode_repr", "{{ ['héllo', '中文', '\\u200b', '\\x07'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\nc\\\\d\\'e\\u00e9\\x41\\101' }}", {}),
    ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("undefined_prints_empty", "[{{ missing }}][{{ obj.missing }}]", {"obj": {}}),
    ("none_attribute_is_undefined", "[{{ x.y }}]", {"x": None}),
    # Operators.
    ("arithmetic", "{{ 7 + 3 }} {{ 7 - 3 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ (1 + 2) ~ 3 }} {{ 'a' ~ (1 + 2) }}", {}),
    ("bool_is_int", "{{ true + 1 }} {{ true == 1 }} {{ 1 == 1.0 }} {{ [1] == [1.0] }}", {}),
    ("string_ops", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ 'a' ~ 1 ~ none ~ true }} {{ [1] + [2] }} {{ [0] * 3 }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 != 1 }}", {}),
    ("membership", "{{ 'b' in 'abc' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 'x' in missing }}", {}),
    ("logic_returns_operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ not 0 }} {{ not [] }} {{ none or [] }}", {}),
    ("ternary", "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}] {{ 1 if 0 else 2 if 0 else 3 }}", {}),
    ("percent_format", "{{ '%s=%d (%.2f) %r %%' % ('k', 42, 3.14159, 'q') }} {{ '%5s|%-5s|' % ('a', 'b') }} {{ '%(a)s-%(b)s' % {'a': 1, 'b': 2} }} {{ '%s' % 'one' }}", {}),
    # Tests.
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.0 is float }} {{ 1 is integer }} {{ true is integer }} {{ true is boolean }} {{ {} is mapping }} {{ [] is sequence }} {{ 'a' is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ range is callable }}", {"x": 1}),
    ("negated_tests", "{{ x is not none }} {{ x is not defined }} {{ not x is defined }}", {"x": 0}),
    ("test_without_parens", "{{ 10 is divisibleby 5 }} {{ x is sameas none }} {{ x is eq none }}", {"x": None}),
    # Attribute and item access.
    ("access", "{{ d.a }} {{ d['a'] }} {{ l[0] }} {{ l[-1] }} {{ l.1 }} {{ s[1] }} {{ s[-1] }} {{ d.nested.k }} {{ d['nested']['k'] }}", {"d": {"a": 1, "nested": {"k": "v"}}, "l": [10, 20, 30], "s": "héllo"}),
    ("dict_method_shadows_key", "{{ d['items'] }} {{ d.items() | list }} {{ d.get('items') }} {{ d.get('none', 'dflt') }} {{ d.get('none') }}", {"d": {"items": "key value"}}),
    ("slices", "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[::2] }} {{ l[5:] }} {{ s[1:3] }} {{ s[::-1] }} {{ l[1:-1] }} {{ l[:-5] }}", {"l": [1, 2, 3, 4], "s": "añbc"}),
    # Loops.
    ("loop_variables", "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {"xs": ["a", "b", "c"]}),
    ("loop_prev_next_cycle", "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}:{{ loop.cycle('odd', 'even') }}]{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("loop_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %}", {}),
    ("loop_unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("loop_over_dict_and_string", "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héj' %}[{{ c }}]{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("nested_loops", "{% for i in [1, 2] %}{% for j in [1, 2] %}{{ loop.index }}{{ i }}{{ j }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_scope", "{% set x = 'outer' %}{% for i in [1] %}{% set x = 'inner' %}{{ x }}{% endfor %} {{ x }}", {}),
    ("loop_reversed_messages", "{% for m in messages[::-1] %}{{ (messages|length - 1) - loop.index0 }}:{{ m.role }} {% endfor %}", {"messages": [{"role": "system"}, {"role": "user"}, {"role": "assistant"}]}),
    ("range_forms", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }} {{ range(0) | list }}", {}),
    # Assignment and namespaces.
    ("set_forms", "{% set a = 1 %}{% set b, c = [2, 3] %}{% set t = 4, 5 %}{{ a }}{{ b }}{{ c }}{{ t }}", {}),
    ("set_block", "{% set block %}  text {{ 1 + 1 }}  {% endset %}[{{ block }}]{% set up | upper %}shout{% endset %}{{ up }}", {}),
    ("namespace", "{% set ns = namespace(n=0, found=false) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.n }} {{ ns.found }}", {}),
    ("if_does_not_scope", "{% if true %}{% set x = 5 %}{% endif %}{{ x }}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    # Macros.
    ("macro", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(name='C', greeting='Yo') }}", {}),
    ("macro_recursion", "{% macro count(n) %}{{ n }}{% if n > 0 %}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}", {}),
    ("macro_sees_globals_not_caller_locals", "{% macro show() %}[{{ g }}|{{ local }}]{% endmacro %}{% for local in [1] %}{{ show() }}{% endfor %}", {"g": "global"}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}", {}),
    ("filter_block", "{% filter upper %}hello {{ 'world' }}{% endfilter %}", {}),
    # String filters and methods.
    ("string_filters", "[{{ '  pad  ' | trim }}] {{ 'abc' | upper }} {{ 'ABC' | lower }} {{ 'hello world' | title }} {{ 'hELLO' | capitalize }} {{ 'aXbX' | replace('X', '-') }} {{ 'a&<>\"\\'' | e }} {{ 'xx' | center(6) }}|", {}),
    ("trim_chars", "{{ '--x--' | trim('-') }}", {}),
    ("string_methods", "{{ s.startswith('He') }} {{ s.endswith(('x', 'lo')) }} {{ s.upper() }} {{ s.lower() }} {{ s.replace('l', 'L', 1) }} {{ s.find('l') }} {{ s.rfind('l') }} {{ s.count('l') }} {{ s.title() }} {{ '-'.join(['a', 'b']) }} {{ s.split('e') }} {{ '  a b  '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'l1\\nl2'.splitlines() }}", {"s": "Hello"}),
    ("strip_methods", "[{{ '\\n x \\n'.strip() }}][{{ '\\n x \\n'.lstrip() }}][{{ '\\n x \\n'.rstrip('\\n') }}][{{ 'xxhixx'.strip('x') }}]", {}),
    ("string_predicates", "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ ' \\t'.isspace() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ ''.isdigit() }}", {}),
    ("str_format_method", "{{ '{} and {}'.format('a', 'b') }} {{ '{0}{0}'.format('x') }} {{ '{name}!'.format(name='n') }}", {}),
    ("think_split", "{% set c = m.split('</think>')[-1].lstrip('\\n') %}{% set r = m.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}[{{ r }}][{{ c }}]", {"m": "<think>\nreasoning here\n</think>\n\nanswer"}),
    # Collection filters.
    ("length_filters", "{{ [1, 2] | length }} {{ 'héllo' | length }} {{ {'a': 1} | count }} {{ missing | length }}", {}),
    ("first_last_join_list", "{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ [1, 2, 3] | join('-') }} {{ 'abc' | list }} {{ ['a', 'b'] | join }} {{ users | join(', ', attribute='name') }}", {"users": [{"name": "x"}, {"name": "y"}]}),
    ("sort_unique_reverse", "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ users | sort(attribute='age') | map(attribute='name') | list }} {{ [1, 2, 1, 3] | unique | list }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }}", {"users": [{"name": "x", "age": 30}, {"name": "y", "age": 20}]}),
    ("min_max_sum", "{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ [1, 2, 3] | sum }} {{ users | sum(attribute='age') }} {{ users | max(attribute='age') }}", {"users": [{"name": "x", "age": 30}, {"name": "y", "age": 20}]}),
    ("select_reject", "{{ range(6) | select('odd') | list }} {{ range(6) | reject('odd') | list }} {{ msgs | selectattr('role', 'equalto', 'user') | list | length }} {{ msgs | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }} {{ [0, 1, '', 'a'] | select | list }}", {"msgs": [{"role": "user"}, {"role": "assistant"}, {"role": "user"}]}),
    ("map_filter", "{{ ['a', 'b'] | map('upper') | list }} {{ msgs | map(attribute='role') | join(',') }} {{ msgs | map(attribute='x', default='d') | list }}", {"msgs": [{"role": "user"}, {"role": "tool"}]}),
    ("items_dictsort", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }}", {"d": {"b": 1, "a": 3, "c": 2}}),
    ("default_filter", "{{ missing | default('dflt') }} {{ '' | default('dflt') }} {{ '' | default('dflt', true) }} {{ none | d('x') }} {{ 0 | default(5, boolean=true) }}", {}),
    ("number_filters", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 2 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.1 | round(method='ceil') }} {{ 'ff' | int(base=16) }}", {}),
    ("string_and_misc_filters", "{{ 12 | string }} {{ [1] | string }} {{ 'a b  c' | wordcount }} {{ 'hello world foo bar' | truncate(9) }} {{ 'hello world foo bar' | truncate(9, true) }} {{ 'x' | safe }} {{ '%s-%s' | format(1, 2) }} {{ d | attr('k') }}", {"d": {"k": "v"}}),
    ("indent_filter", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('>', blank=true) }}", {}),
    ("batch_filter", "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 0) | list }}", {}),
    # tojson, as transformers overrides it.
    ("tojson_basic", "{{ v | tojson }}", {"v": {"name": "f", "n": 1, "x": 1.5, "y": 1.0, "z": 1e-7, "big": 1e22, "b": True, "none": None, "list": [1, "two", [3]], "nested": {"k": {}}, "empty": []}}),
    ("tojson_strings", "{{ v | tojson }} {{ v | tojson(ensure_ascii=true) }}", {"v": "é中😀\n\t\"\\/<>&'\u2028\u007f\u0001"}),
    ("tojson_indent", "{{ v | tojson(indent=2) }}|{{ v | tojson(indent='\\t') }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson(indent=2) }}", {"v": {"a": [1, {"b": 2}], "c": "d"}}),
    ("tojson_separators_sort", "{{ v | tojson(separators=(',', ':')) }} {{ v | tojson(sort_keys=true) }}", {"v": {"b": [1, 2], "a": {"y": 1, "x": 2}}}),
    ("tojson_key_order_kept", "{{ v | tojson }}", {"v": {"z": 1, "a": 2, "m": 3}}),
    ("tojson_of_template_values", "{{ {'a': [1, 2.5, 'x', none, true]} | tojson }} {{ (1, 2) | tojson }} {{ 'str' | tojson }} {{ 3 | tojson }}", {}),
    # Globals.
    ("dict_global", "{{ dict(a=1, b='x') }} {{ dict({'k': 1}, j=2) }}", {}),
    # The constructs of other model families' templates (written for these
    # tests in their style).
    ("family_llama31_tools", """{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if strftime_now is defined %}{{- "Environment: known\n" }}{%- endif %}
{{- system_message }}{{- "<|eot_id|>" }}
{%- if tools_in_user_message and not tools is none %}
    {%- set first_user_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\n\n" }}{%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}{{- '"parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}
        {%- for arg_name, arg_val in tool_call.arguments | items %}[{{ arg_name }}={{ arg_val }}]{% if not loop.last %},{% endif %}{%- endfor %}
        {{- "<|eot_id|>" }}
    {%- else %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}""",
     {"bos_token": "<|begin_of_text|>", "add_generation_prompt": True,
      "tools": [{"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
                                                   "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}],
      "messages": [{"role": "system", "content": "  Be exact.  "}, {"role": "user", "content": "Time in Paris?"},
                   {"role": "assistant", "tool_calls": [{"function": {"name": "get_time", "arguments": {"tz": "Europe/Paris", "n": 2}}}]},
                   {"role": "tool", "content": {"time": "12:00"}}, {"role": "user", "content": "Thanks"}]}),
    ("family_mistral_alternation", """{{- bos_token }}
{%- for message in messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.last and system_message is defined %}{{- '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}
        {%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content']|trim + eos_token}}
    {%- endif %}
{%- endfor %}""",
     {"bos_token": "<s>", "eos_token": "</s>", "system_message": "Answer in French.",
      "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Salut ! "},
                   {"role": "user", "content": "How are you?"}]}),
    ("family_gemma_content_parts", """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- set role = (message['role'] == 'assistant') and 'model' or message['role'] -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}{{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}
        {%- endfor -%}
    {%- else -%}{{ raise_exception("Invalid content type") }}{%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}""",
     {"bos_token": "<bos>", "add_generation_prompt": True,
      "messages": [{"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
                   {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]},
                   {"role": "assistant", "content": "A cat."}]}),
    ("family_deepseek_namespace", """{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}
{%- set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}
{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}
{{- bos_token }}{{- ns.system_prompt }}
{%- for message in messages %}
{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}
{%- elif message['role'] == 'assistant' and message['content'] is not none %}{%- set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}
{%- endif %}
{%- endfor -%}
{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\n'}}{% endif %}""",
     {"bos_token": "<｜begin▁of▁sentence｜>", "add_generation_prompt": True,
      "messages": [{"role": "system", "content": "A"}, {"role": "system", "content": "B"},
                   {"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "<think>easy</think>2"},
                   {"role": "user", "content": "2+2?"}]}),
    ("family_granite_tools_and_documents", """{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}
{%- else %}{%- set system_message = "Knowledge Cutoff Date: April 2024.\nYou are Granite." %}
{%- if tools and documents %}{%- set system_message = system_message + " You may call tools and use documents." %}
{%- elif tools %}{%- set system_message = system_message + " You may call tools." %}{%- endif %}
{%- set loop_messages = messages %}{%- endif %}
{{- '<|start_of_role|>system<|end_of_role|>' + system_message + '<|end_of_text|>\n' }}
{%- if tools %}{{- '<|start_of_role|>tools<|end_of_role|>' }}{{- tools | tojson(indent=4) }}{{- '<|end_of_text|>\n' }}{%- endif %}
{%- if documents %}{%- for document in documents %}{{- '<|start_of_role|>document {"document_id": "' + document['doc_id'] | string + '"}<|end_of_role|>\n' }}{{- document['text'] }}{%- if not loop.last %}{{- '<|end_of_text|>\n' }}{%- endif %}{%- endfor %}{{- '<|end_of_text|>\n' }}{%- endif %}
{%- for message in loop_messages %}
    {{- '<|start_of_role|>' + message['role'] + '<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}
    {%- if loop.last and add_generation_prompt %}{{- '<|start_of_role|>assistant' }}{%- if controls %}{{- ' ' + controls | tojson() }}{%- endif %}{{- '<|end_of_role|>' }}{%- endif %}
{%- endfor %}""",
     {"add_generation_prompt": True, "controls": {"citations": True, "length": "short"},
      "tools": [{"name": "search", "parameters": {"q": {"type": "string"}}}],
      "documents": [{"doc_id": 7, "text": "Tern is fast."}, {"doc_id": "b", "text": "It streams."}],
      "messages": [{"role": "user", "content": "What is Tern?"}]}),
    # Errors: each must fail.
    ("error_raise_exception", "{{ raise_exception('Conversation roles must alternate') }}", {}),
    ("error_undefined_attribute_of_undefined", "{{ missing.attr }}", {}),
    ("error_concat_undefined", "{{ 'a' + missing }}", {}),
    ("error_concat_str_int", "{{ 'a' + 1 }}", {}),
    ("error_call_undefined", "{{ missing() }}", {}),
    ("error_division_by_zero", "{{ 1 / 0 }}", {}),
    ("error_unknown_filter", "{{ 1 | no_such_filter }}", {}),
    ("error_unknown_test", "{{ 1 is no_such_test }}", {}),
    ("error_list_append_is_unsafe", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("error_assign_attr_on_non_namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("error_unclosed_if", "{% if true %}open", {}),
    ("error_unknown_tag", "{% frobnicate %}", {}),
    ("error_unclosed_variable", "{{ 1 + ", {}),
    ("error_tojson_undefined", "{{ missing | tojson }}", {}),
    ("error_startswith_on_list", "{{ l.startswith('a') }}", {"l": ["a"]}),
    ("error_range_too_big", "{{ range(1000000) | length }}", {}),
    ("error_tilde_binds_tighter_than_plus", "{{ 1 + 2 ~ 3 }}", {}),
    ("error_mistral_roles_must_alternate", "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}{% endfor %}",
     {"messages": [{"role": "user"}, {"role": "user"}]}),
    ("error_unpack_mismatch", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
]


QWEN3_TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city — e.g. «Paris» or 東京",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7.5}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the web",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": []}}},
]

QWEN3_CONVERSATIONS = [
    ("tools_first_turn", {"messages": [{"role": "user", "content": "Weather in Paris?"}],
                          "tools": QWEN3_TOOLS, "add_generation_prompt": True}),
    ("tools_with_system", {"messages": [{"role": "system", "content": "You are precise."},
                                        {"role": "user", "content": "Weather in Paris?"}],
                           "tools": QWEN3_TOOLS, "add_generation_prompt": True}),
    ("tool_call_round_trip", {"messages": [
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}},
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Tokyo\"}"}}]},
        {"role": "tool", "content": "{\"temp\": 21.5}"},
        {"role": "tool", "content": "sunny, 25°C"},
        ], "tools": QWEN3_TOOLS, "add_generation_prompt": True}),
    ("tool_call_with_content_and_reasoning", {"messages": [
        {"role": "user", "content": "Find news"},
        {"role": "assistant", "content": "Let me search.", "reasoning_content": "The user wants news.",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": {"query": "news"}}}]},
        {"role": "tool", "content": "<results>none</results>"},
        {"role": "assistant", "content": "<think>\nNothing found.\n</think>\n\nNo news today."},
        {"role": "user", "content": "Thanks"},
        ], "tools": QWEN3_TOOLS, "add_generation_prompt": True}),
    ("reasoning_in_history", {"messages": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nsimple\n</think>\n\n4"},
        {"role": "user", "content": "3+3?"},
        {"role": "assistant", "content": "<think>\nalso simple\n</think>\n\n6"},
        ], "add_generation_prompt": False}),
    ("reasoning_content_field_last_turn", {"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet back."},
        ], "add_generation_prompt": False}),
    ("enable_thinking_false", {"messages": [{"role": "user", "content": "Quick answer please"}],
                               "add_generation_prompt": True, "enable_thinking": False}),
    ("enable_thinking_true", {"messages": [{"role": "user", "content": "Think hard"}],
                              "add_generation_prompt": True, "enable_thinking": True}),
    ("user_tool_response_text_is_not_a_query", {"messages": [
        {"role": "user", "content": "Call it"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "search", "arguments": {}}}]},
        {"role": "user", "content": "<tool_response>raw</tool_response>"},
        {"role": "assistant", "content": "<think>\nok\n</think>\n\nDone"},
        ], "tools": QWEN3_TOOLS, "add_generation_prompt": False}),
    ("system_in_the_middle", {"messages": [
        {"role": "system", "content": "First"},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Later note"},
        {"role": "user", "content": "Again"}], "add_generation_prompt": True}),
    ("unicode_and_whitespace_content", {"messages": [
        {"role": "user", "content": "  héllo 中文 😀\n\n\ttabs  "}], "add_generation_prompt": True}),
    ("error_missing_content", {"messages": [{"role": "user"}], "add_generation_prompt": True}),
]


def render(env, template, variables):
    try:
        return {"output": env.from_string(template).render(**variables)}
    except Exception as e:  # noqa: BLE001 - any template failure is an expected error
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.path.join(here, "..", "data")
    env = make_env()
    out = {"reference": f"Jinja2 {jinja2.__version__}, transformers' chat template environment",
           "cases": [], "qwen3": []}
    for name, template, variables in CASES:
        result = render(env, template, variables)
        if name.startswith("error_") != ("error" in result):
            sys.exit(f"case {name}: unexpected result {result}")
        out["cases"].append({"name": name, "template": template, "variables": variables, **result})
    with open(os.path.join(data, "tokenizers", "qwen3", "tokenizer_config.json")) as f:
        config = json.load(f)
    special = {"eos_token": config["eos_token"], "pad_token": config["pad_token"],
               "additional_special_tokens": config["additional_special_tokens"]}
    for name, request in QWEN3_CONVERSATIONS:
        variables = {**special, "tools": None, "documents": None, **request}
        result = render(env, config["chat_template"], variables)
        if name.startswith("error_") != ("error" in result):
            sys.exit(f"qwen3 case {name}: unexpected result {result}")
        out["qwen3"].append({"name": name, "request": request, **result})
    path = os.path.join(data, "chat", "jinja_goldens.json")
    with open(path, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out['cases'])} cases and {len(out['qwen3'])} Qwen3 conversations to {path}")


if __name__ == "__main__":
    main()
