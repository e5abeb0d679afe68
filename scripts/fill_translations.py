"""Fill empty Chinese entries of the catalog from a {English: Chinese} table given as a Python file."""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

PO = "registry/translations/zh_Hans_CN/LC_MESSAGES/messages.po"

table = runpy.run_path(sys.argv[1])["ZH"]
with open(PO, "rb") as f:
    catalog = read_po(f, locale="zh_Hans_CN")
missing = []
for message in catalog:
    if not message.id:
        continue
    if not message.string and message.id in table:
        message.string = table[message.id]
    if not message.string:
        missing.append(message.id)
with open(PO, "wb") as f:
    write_po(f, catalog, width=120)
print("untranslated:", missing)
