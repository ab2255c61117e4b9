export type { CompiledExpr, Expr } from './ast.js';
export { type ExprEnv, evaluate, evaluateNumber, holds } from './evaluate.js';
export { expressionSchema, type NumberOrExpression, numberOrExpressionSchema, resolveNumber } from './expression-schema.js';
export { compileExpression, ExpressionError, parseExpression } from './parse-expression.js';
