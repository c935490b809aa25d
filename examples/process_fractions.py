"""Process fractions g_p(x) for the mixture model: classifier, staged calibration, reliability.

Three simulated processes with known g_p(x) (``bpt.toys.process_mixture``: a small, narrow
signal and two broad backgrounds, yields 50, 400 and 200). ``ProcessFractions`` trains a
classifier on 70 % of the events, weighted to the expected yields, and calibrates it on
the other 30 %: the signal fraction alone, the background fractions then rescaled to
share 1 - g_signal. Two classifiers are compared on an independent test sample: the
default HistGradientBoostingClassifier, and a random forest, whose averaged votes are
known to be pulled away from 0 and 1.

    python examples/process_fractions.py [--plot reliability.png]
"""
import argparse

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from bpt import ProcessFractions, plot_reliability, toys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-per-process", type=int, default=20_000)
    parser.add_argument("--plot", help="save the reliability curves to this file")
    args = parser.parse_args()

    train = toys.process_mixture(args.n_per_process, random_state=0)
    test = toys.process_mixture(args.n_per_process, random_state=1)
    truth = test.fractions(test.X)
    print(f"processes {np.unique(train.target).tolist()} (0 = signal), yields "
          f"{train.yields.tolist()}, {args.n_per_process} simulated events each")

    classifiers = {"HistGradientBoosting": None,
                   "RandomForest": RandomForestClassifier(n_estimators=100, min_samples_leaf=20,
                                                          n_jobs=2, random_state=0)}
    results = {}
    for name, classifier in classifiers.items():
        model = ProcessFractions(classifier, signal=0, random_state=0)
        model.fit(train.X, train.target, train.weights)
        raw = model.reliability(test.X, test.target, test.weights, calibrated=False)
        calibrated = model.reliability(test.X, test.target, test.weights)
        results[name] = (raw, calibrated)
        rms_raw = np.sqrt(np.mean((model.predict_uncalibrated(test.X) - truth) ** 2, axis=0))
        rms_cal = np.sqrt(np.mean((model.predict_fractions(test.X) - truth) ** 2, axis=0))
        print(f"\n=== {name} ===")
        print(raw)
        print(calibrated)
        print("RMS of g_p - g_p(true) per process: uncalibrated "
              + " ".join(f"{v:.4f}" for v in rms_raw) + ", calibrated "
              + " ".join(f"{v:.4f}" for v in rms_cal))

    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 5.5))
        for ax, (name, pair) in zip(np.atleast_1d(axes), results.items()):
            plot_reliability(pair, ax=ax)
            ax.set_title(name)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"\nreliability curves saved to {args.plot}")


if __name__ == "__main__":
    main()
