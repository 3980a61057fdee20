# Copyright (c) mmunirep contributors. All rights reserved.
"""The documentation: the README stays a short entry point whose first two
commands are the main job and the tests, its headline numbers are the model
zoo's (configs/README.md), and every relative link of the README, the model
zoo and docs/ leads to a file and a heading that exist."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / 'README.md'
MODEL_ZOO = ROOT / 'configs' / 'README.md'
PAGES = [README, MODEL_ZOO, *sorted((ROOT / 'docs').glob('*.md'))]
FENCED = re.compile(r'^```.*?^```', re.M | re.S)
LINK = re.compile(r'\]\(([^)\s]+)\)')


def anchors(page):
    """The anchors GitHub gives the headings of a markdown page."""
    headings = re.findall(r'^#+ (.+)$', FENCED.sub('', page.read_text()),
                          re.M)
    return {re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-')
            for h in headings}


def decimals(cells):
    return [float(x) for x in re.findall(r'\d+\.\d+', cells)]


def test_readme_is_short_and_starts_with_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) < 400
    first_block = re.search(r'```bash\n(.*?)```', text, re.S).group(1)
    commands = [line.split('#')[0].strip()
                for line in first_block.splitlines()]
    assert commands == ['bash tools/run_demo.sh', 'bash tools/run_tests.sh']
    ci = (ROOT / '.ci' / 'run').read_text().splitlines()
    assert ci[-1] == f'exec {commands[1]}'


@pytest.mark.parametrize('page', PAGES,
                         ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in LINK.findall(FENCED.sub('', page.read_text())):
        if '://' in target:
            continue
        path, _, anchor = target.partition('#')
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), target
        if anchor:
            assert anchor in anchors(linked), target


def test_readme_headline_numbers_are_the_model_zoos():
    zoo = {
        name: decimals(cells) for name, cells in re.findall(
            r'^\| \[(\w+)\]\(\1\.py\) \|(.*)\|$', MODEL_ZOO.read_text(), re.M)
    }
    section = README.read_text().split('\n## Results\n')[1].split('\n## ')[0]
    rows = re.findall(r'^\| [^|]+ \| \[(\w+)\]\(configs/\1\.py\) \|(.*)\|$',
                      section, re.M)
    assert len(rows) == 3  # one per task
    for name, cells in rows:
        # the rows of both end with: paper metrics, ours params, ours FLOPs
        numbers = decimals(cells)
        assert len(numbers) >= 3 and numbers == zoo[name][-len(numbers):], \
            name
