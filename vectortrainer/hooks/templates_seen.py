"""Every template a released version of VectorTrainer wrote hooks with, by fingerprint.

A hook version saved before an upgrade holds the interpreter of its day. Restoring it (a
rollback) must return to what was live then, so validation accepts a hook whose code is exactly
one of these templates (:func:`vectortrainer.hooks.template.template_fingerprint`: its text with
the rules literal emptied), as well as today's. Its code is that day's fixed interpreter, vetted
when it was written; it still passes today's allowlist, and its rules today's safety checks.

When the interpreter or the template changes, ``tests/unit/hooks/test_templates_seen.py`` fails
until the new fingerprint is added here. Never remove one: hooks written with it would stop
being restorable.
"""

from __future__ import annotations

# fingerprint -> the commit whose template it is, and what changed
TEMPLATE_FINGERPRINTS: dict[str, str] = {
    "95ff5dc07b73ea29e8ca9772ce8a5222e4a0ef8c716912eafbff74f3817326eb": "1ea0aa8: the first hooks",
    "f8de78d965977042b5eb964bd2975f9a965ead995711ada9cfb84fb35b2218b0":
        "31f32f0: text conditions, case transforms",
    "266d6fb766fd305270b367e2c50af0cba74ebfaef31b1826764556025d6a8c88":
        "4947aaa: literals tested left edge last",
    "c4b26b00e89137755bb0be75ed12ddaebcc27d5a07af0e058407b7537aeb6278":
        "7a5d034: quantifier safety, suffix boundaries",
    "596498e849baae8908ff58f21e9ebd701d93e271f2ed064e429653ac68fe7965": "da03d4c: at volume",
    "649e9379757bb4493e556d811697003b5dac896ebb34a5318d987a4f7181f706": "bd6670b: lint reflow",
    "232af0fee53f6fa6ecc5ed49f8e3cdc068b4aba143540ea4ad903f2e091f953b": "7f4c836: needles",
    "3d097d0057d6c2e2ebfc23c2500163969e4e2fb9e96484ffdea89360a222b43d": "80d2b69: needle first",
    "01cf97eddf9404a103348ca2c714800be5d7f081501106684dc3f1ba4e922074": "7faa6a5: key words",
    "448bbb7c277ebf8a777b6b334cdd0f5a1b3cb53b7272787ee10e2479fdbde38e":
        "3c1af6c: case fixes by folded words",
    "ee72b190d79a480099e2325e3a599d7486569c35696ea3a267ec3d526c4f0bf7":
        "79bd559: rules filed by key word",
    "4e34e3dfe4a2c5478cbafd2c94f90a3549e95b82b37c42e2ae99597598ddafdd":
        "few rules tried in order, without the index",
    "267b216625c5846b116baaee03388387aa6b4d087dd8ab9ffa19d29c10de1eb9":
        "a regex rule's key word as its writer found it",
}
