// Least squares through ml-matrix's SVD: one cutoff for "this singular value is zero", used for
// both the pseudo-inverse and the rank, so that collinear bases get the least-norm answer and
// a rank that says why.
import { Matrix, SVD, pseudoInverse } from 'ml-matrix';

/** Singular values below RCOND · max(rows, cols) · s_max count as zero (LAPACK's rcond rule). */
const RCOND = 1e-12;

/** The Moore–Penrose pseudo-inverse of A [n × p] -> [p × n]; A⁺b is the least-norm least-squares solution. */
export function pinv(A: Matrix): Matrix {
  return pseudoInverse(A, RCOND);
}

/** Numerical rank of A [n × p] with the same cutoff as pinv. */
export function rank(A: Matrix): number {
  if (A.rows === 0 || A.columns === 0) return 0;
  const s = new SVD(A, { autoTranspose: true }).diagonal;
  const cutoff = RCOND * Math.max(A.rows, A.columns) * s[0]!;
  return s.filter((v) => v > cutoff).length;
}

/** The matrix [n × p] whose columns are the given length-n vectors. */
export function fromColumns(columns: ArrayLike<number>[], n: number): Matrix {
  const A = new Matrix(n, columns.length);
  columns.forEach((c, j) => {
    for (let i = 0; i < n; i++) A.set(i, j, c[i]!);
  });
  return A;
}
