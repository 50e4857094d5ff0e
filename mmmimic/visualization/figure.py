def save_figure(fig, path: str) -> None:
    """Write a matplotlib figure as PNG to ``path`` through a temporary file
    (nothing half-written is left), then close it."""
    import matplotlib.pyplot as plt

    from mmmimic.utils.atomic import atomic_path
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format='png')
    finally:
        plt.close(fig)
