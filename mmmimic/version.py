__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """``'0.1.0'`` -> ``(0, 1, 0)``; a suffix such as ``rc1`` stays a string."""
    info = []
    for part in version_str.split('.'):
        info.append(int(part) if part.isdigit() else part)
    return tuple(info)


version_info = parse_version_info(__version__)
