import Foundation
import ImplicitSparse
import XCTest

/// The lasso family with rows over processes, without MPI: P threads play P processes, each
/// holding a block of training and validation rows; reductions sum every thread's values
/// behind a barrier (`VectorSpaceTests.Team`). The same `RegularizedLeastSquares`,
/// working-set solver and `LassoAdjoint` that run on one process run in each thread and must
/// give the single-process answers: λ_max, the solution's certificate, the validation loss
/// and its hypergradient (against coordinate descent on all rows, 1e-8), identical on every
/// part. The data has duplicated and dependent binary columns with power-law frequencies.
final class DistributedLassoTests: XCTestCase {
    static let data: (x: CSRMatrix, y: [Double]) = {
        let g = try! Datasets.binaryTextLike(rows: 900, columns: 600, nonzerosPerRow: 12, duplicateColumns: 30,
                                             dependentColumns: 30, informative: 40, seed: 5)
        return (g.features, g.targets)
    }()
    static let trainRows = 700

    func split() throws -> (train: CSRMatrix, yTrain: [Double], validation: CSRMatrix, yValidation: [Double]) {
        let (x, y) = Self.data
        let train = Array(0..<Self.trainRows), held = Array(Self.trainRows..<x.rows)
        return (try x.selectingRows(train), train.map { y[$0] }, try x.selectingRows(held), held.map { y[$0] })
    }

    /// The working-set solver on one process: its certificate is the whole problem's duality gap
    /// (recomputed here), below the target, with working sets smaller than p; the objective
    /// is coordinate descent's within the two gaps — with each set solved on its Gram matrix
    /// and, above a Gram limit of 10 columns, by FISTA.
    func testWorkingSetsReachTheWholeProblemsGap() throws {
        let (train, yTrain, _, _) = try split()
        for (alpha, intercept) in [(1.0, false), (1.0, true), (0.5, true)] {
            let lambdaMax = try LassoProblem.lambdaMax(design: train, targets: yTrain, l1Ratio: alpha, fitIntercept: intercept)
            let problem = try LassoProblem(design: train, targets: yTrain, lambda: lambdaMax / 20, l1Ratio: alpha, fitIntercept: intercept)
            let ws = try problem.solveWithWorkingSets(tolerance: 1e-10, initialSize: 16)
            XCTAssertTrue(ws.converged)
            let gap = problem.dualityGap(ws.solution)
            XCTAssertLessThanOrEqual(gap, 1e-10 * problem.gapScale)
            XCTAssertEqual(gap, ws.certificate, accuracy: 1e-15 * problem.gapScale)
            XCTAssertGreaterThan(ws.workingSets, 1)
            XCTAssertLessThan(ws.workingSetSize, train.columns)
            let cd = try CoordinateDescent().solve(problem, tolerance: 1e-10)
            XCTAssertEqual(problem.objective(ws.solution), problem.objective(cd.solution), accuracy: 2e-10 * problem.gapScale)
            let fista = try problem.solveWithWorkingSets(tolerance: 1e-10, initialSize: 16, gramLimit: 10)
            XCTAssertTrue(fista.converged)
            XCTAssertLessThanOrEqual(problem.dualityGap(fista.solution), 1e-10 * problem.gapScale)
            XCTAssertEqual(problem.objective(fista.solution), problem.objective(cd.solution), accuracy: 2e-10 * problem.gapScale)
        }
    }

    /// 1, 2 and 3 parts: λ_max, the converged solution's gap, the validation loss and
    /// d loss / d log λ equal the single-process values (coordinate descent on all rows) to
    /// 1e-8, for the lasso with and without an intercept and the elastic net; every part
    /// reports the same numbers bit for bit.
    func testRowsOverPartsGiveTheSingleProcessHypergradient() throws {
        let (train, yTrain, validation, yValidation) = try split()
        let strategy = { LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 10_000), name: "adjoint") }
        for penalty in [RegularizedLeastSquares.Penalty.lasso, .elasticNet(l1Ratio: 0.5)] {
            for intercept in [false, true] where penalty == .lasso || intercept {
                let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: train, targets: yTrain, penalty: penalty, fitIntercept: intercept)
                let whole = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: penalty, lambda: lambdaMax / 20,
                                                        fitIntercept: intercept)
                let reference = try whole.solve(tolerance: 1e-14)
                let expected = try whole.hypergradient(at: reference.weights, validation: validation, validationTargets: yValidation,
                                                       strategy: strategy())
                XCTAssertGreaterThan(expected.supportSize ?? 0, 5)
                for parties in 1...3 {
                    let team = VectorSpaceTests.Team(parties: parties, length: 0)
                    let trainRanges = (0..<parties).map { p in (p * train.rows / parties)..<((p + 1) * train.rows / parties) }
                    let heldRanges = (0..<parties).map { p in (p * validation.rows / parties)..<((p + 1) * validation.rows / parties) }
                    let results = try runParts(parties) { part -> [Double] in
                        let rows = trainRanges[part], held = heldRanges[part]
                        let space = VectorSpace(globalLength: train.rows, localRange: rows, parts: parties) { team.sum($0, part: part) }
                        let x = try train.selectingRows(Array(rows)), y = Array(yTrain[rows])
                        let xv = try validation.selectingRows(Array(held)), yv = Array(yValidation[held])
                        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: x, targets: y, penalty: penalty,
                                                                              fitIntercept: intercept, rowSpace: space)
                        let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: penalty, lambda: lambdaMax / 20,
                                                                  fitIntercept: intercept, rowSpace: space)
                        let solution = try problem.solve(tolerance: 1e-13, solver: .workingSets)
                        let result = try problem.hypergradient(at: solution.weights, validation: xv, validationTargets: yv,
                                                               strategy: strategy())
                        return [lambdaMax, solution.certificate, result.value, result.gradient, Double(result.supportSize ?? 0),
                                solution.intercept]
                    }
                    let label = "\(penalty), intercept \(intercept), \(parties) part(s)"
                    for r in results { XCTAssertEqual(r, results[0], "every part reports the same numbers (\(label))") }
                    let r = results[0]
                    XCTAssertEqual(r[0], lambdaMax, accuracy: 1e-12 * lambdaMax, label)
                    XCTAssertLessThanOrEqual(r[1], 1e-13 * whole.centered.gapScale * 1.000001, label)
                    XCTAssertEqual(r[2], expected.value, accuracy: 1e-8 * abs(expected.value), label)
                    XCTAssertEqual(r[3], expected.gradient, accuracy: 1e-8 * abs(expected.gradient), label)
                    XCTAssertEqual(r[5], reference.intercept, accuracy: 1e-7 * max(1, abs(reference.intercept)), label)
                }
            }
        }
    }

    /// Above the dense limit (here 5 columns) the support's system is the Gram operator, one
    /// reduction per product: the elastic net's solved by the strategy, the lasso's — whose
    /// support has duplicated columns, found across the parts by their summed fingerprints —
    /// by forward mode on the minimum-norm system; 2 and 3 parts equal one to 1e-8.
    func testTheGramOperatorAboveTheDenseLimitOnSplitRows() throws {
        let (train, yTrain, validation, yValidation) = try split()
        let strategy = { LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 10_000), name: "adjoint") }
        for penalty in [RegularizedLeastSquares.Penalty.lasso, .elasticNet(l1Ratio: 0.5)] {
            let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: train, targets: yTrain, penalty: penalty, fitIntercept: true)
            let whole = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: penalty, lambda: lambdaMax / 20, fitIntercept: true)
            let w = try whole.solve(tolerance: 1e-14).weights
            let expected = try LassoAdjoint.compute(problem: whole.centered, solution: w, validation: validation,
                                                    validationTargets: yValidation, strategy: strategy(), rankRevealLimit: 5)
            if penalty == .lasso { XCTAssertFalse(expected.unique, "duplicated columns in the support") }
            for parties in 2...3 {
                let team = VectorSpaceTests.Team(parties: parties, length: 0)
                let results = try runParts(parties) { part -> [Double] in
                    let rows = (part * train.rows / parties)..<((part + 1) * train.rows / parties)
                    let held = (part * validation.rows / parties)..<((part + 1) * validation.rows / parties)
                    let space = VectorSpace(globalLength: train.rows, localRange: rows, parts: parties) { team.sum($0, part: part) }
                    let problem = try RegularizedLeastSquares(design: try train.selectingRows(Array(rows)), targets: Array(yTrain[rows]),
                                                              penalty: penalty, lambda: lambdaMax / 20, fitIntercept: true, rowSpace: space)
                    let r = try LassoAdjoint.compute(problem: problem.centered, solution: w, validation: try validation.selectingRows(Array(held)),
                                                     validationTargets: Array(yValidation[held]), strategy: strategy(), rankRevealLimit: 5)
                    return [r.value, r.gradient, r.unique ? 1 : 0]
                }
                for r in results { XCTAssertEqual(r, results[0]) }
                XCTAssertEqual(results[0][0], expected.value, accuracy: 1e-12 * expected.value)
                XCTAssertEqual(results[0][1], expected.gradient, accuracy: 1e-8 * abs(expected.gradient), "\(penalty), \(parties) parts")
                XCTAssertEqual(results[0][2], expected.unique ? 1 : 0)
            }
        }
    }

    /// Coordinate descent and ridge refuse rows over processes with a message that says what
    /// to use instead.
    func testColumnMethodsRefuseSplitRows() throws {
        let (train, yTrain, _, _) = try split()
        let team = VectorSpaceTests.Team(parties: 2, length: 0)
        let messages = try runParts(2) { part -> [String] in
            let rows = part == 0 ? 0..<350 : 350..<700
            let space = VectorSpace(globalLength: 700, localRange: rows, parts: 2) { team.sum($0, part: part) }
            let x = try train.selectingRows(Array(rows)), y = Array(yTrain[rows])
            let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: .lasso, lambda: 0.01, rowSpace: space)
            var out: [String] = []
            do { _ = try problem.solve(solver: .coordinateDescent) } catch { out.append("\(error)") }
            do { _ = try RegularizedLeastSquares(design: x, targets: y, penalty: .ridge, lambda: 0.01, rowSpace: space) } catch { out.append("\(error)") }
            return out
        }
        for m in messages {
            XCTAssertEqual(m.count, 2)
            XCTAssertTrue(m[0].contains("working sets"), m[0])
            XCTAssertTrue(m[1].contains("ridge over processes"), m[1])
        }
    }
}
