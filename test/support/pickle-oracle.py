"""CPython as the oracle for the pickle reader's differential test.

Reads a JSON command on stdin and prints JSON. Nothing here unpickles:
`pickle.dumps` only serialises (a function or class is written as a
reference to its name), and `pickletools.genops` only disassembles.

  {"dump": [[expression, protocol], ...]}
      pickles the value of each expression (stdlib names and literals only),
      returning its hex and the globals it references, module and qualified
      name, as CPython's find_class would import them.
  {"disassemble": [hex, ...]}
      each pickle's opcodes as pickletools reads them: name, position, the
      argument of GLOBAL/INST (module and name) and of PROTO, and where and
      why reading stopped; then whether its frames are consistent with
      CPython's file unpickler (pickle._Unframer), judged from those opcode
      boundaries.
"""
import _compat_pickle
import collections
import datetime
import fractions
import functools
import io
import json
import os
import pickle
import pickletools
import sys


def imported(module, name, proto):
    """pickle._Unpickler.find_class's mapping, without the import."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return [module, name]


STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
MARK = object()


def referenced_globals(data):
    """Every import a pickle asks find_class for, in order, as CPython maps it.

    STACK_GLOBAL takes its names from the stack, so a shadow stack is kept,
    driven by pickletools' own declaration of each opcode's stack effect
    (stack_before, stack_after): strings are pushed as themselves, memo
    operations copy them, everything else is opaque."""
    refs, stack, memo, proto = [], [], {}, 0
    for op, arg, pos in pickletools.genops(data):
        name = op.name
        if name == "PROTO":
            proto = arg
        if name in ("GLOBAL", "INST"):
            module, attr = arg.split(" ", 1)
            refs.append(imported(module, attr, proto))
        if name == "STACK_GLOBAL":
            attr, module = stack.pop(), stack.pop()
            refs.append(imported(module, attr, proto) if isinstance(module, str) and isinstance(attr, str) else ["?", "?"])
            stack.append(None)
        elif name in STRING_OPS:
            stack.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name == "DUP":
            stack.append(stack[-1])
        elif name == "MARK":
            stack.append(MARK)
        else:
            for item in reversed(op.stack_before):
                if item is pickletools.stackslice:
                    while stack[-1] is not MARK:
                        stack.pop()
                else:
                    stack.pop()
            stack.extend(None for _ in op.stack_after)
    return refs


def disassemble(data):
    ops, error, proto = [], None, 0
    stream = io.BytesIO(data)
    # Where the opcode being read starts: an error is placed there, not wherever genops had read to.
    opcode_start = 0
    try:
        while stream.tell() < len(data):
            proto = 0
            for op, arg, pos in pickletools.genops(stream):
                opcode_start = stream.tell()
                entry = {"op": op.name, "pos": pos}
                if op.name == "PROTO":
                    proto = arg
                if op.name in ("GLOBAL", "INST"):
                    module, name = arg.split(" ", 1)
                    entry["global"] = imported(module, name, proto)
                if op.name == "FRAME":
                    entry["length"] = arg
                ops.append(entry)
    except Exception as exc:  # pickletools raises ValueError and others on malformed input
        error = {"pos": opcode_start, "message": str(exc)}
    return {"ops": ops, "error": error, "framesConsistent": frames_consistent(ops, len(data), error)}


def frames_consistent(ops, size, error):
    """_Unframer's rules from the opcode boundaries: an opcode ends in the frame
    it starts in, a FRAME comes only once the previous frame is used up, a
    frame fits the input, and STOP ends its frame."""
    frame_end = None
    boundaries = [op["pos"] for op in ops[1:]] + [None]
    for op, end in zip(ops, boundaries):
        if end is None:
            end = error["pos"] if error else size
        if op["op"] == "FRAME":
            start = op["pos"] + 9
            if frame_end is not None and op["pos"] < frame_end:
                return False
            if start + op["length"] > size:
                return False
            frame_end = start + op["length"] if op["length"] else None
            continue
        if frame_end is not None:
            if end > frame_end:
                return False
            if end == frame_end:
                frame_end = None
        if op["op"] == "STOP" and frame_end is not None:
            return False
    return True


def dump(expression, protocol):
    value = eval(expression, {"collections": collections, "datetime": datetime, "fractions": fractions, "functools": functools, "io": io, "os": os, "sys": sys})
    data = pickle.dumps(value, protocol=protocol)
    return {"hex": data.hex(), "globals": referenced_globals(data)}


command = json.load(sys.stdin)
if "dump" in command:
    print(json.dumps([dump(expression, protocol) for expression, protocol in command["dump"]]))
else:
    print(json.dumps([disassemble(bytes.fromhex(h)) for h in command["disassemble"]]))
