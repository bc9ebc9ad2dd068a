"""Before/after fixtures, one per language, all built on the same shape.

Before: ``grade`` has one ``if`` (cyclomatic 2, nesting 1). After: ``grade`` has
if / else-if with ``&&`` / a loop holding an ``if`` (cyclomatic 6, nesting 2),
a one-line doc comment is added, and a new ``clamp`` helper (cyclomatic 1)
carries a one-line comment. A new test file holds 2 tests and 3 assertions.
So every language expects: 2 functions touched, complexity +5 (4 from grade,
1 from the new clamp), worst = grade, 2 doc lines added, 2 tests, 3 assertions.
``code_lines`` (non-blank, non-comment source lines added) and ``test_lines``
(non-blank test lines) are counted by hand per language.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LangCase:
    """One language's fixture and the figures expected from it."""

    language: str
    source_path: str
    before: str
    after: str
    test_path: str
    test: str
    grade_name: str
    clamp_name: str
    code_lines: int
    test_lines: int


PYTHON = LangCase(
    "Python", "grade.py",
    before='''def grade(score):
    if score > 90:
        return "A"
    return "B"
''',
    after='''def grade(score):
    """Letter grade for a score."""
    if score > 90:
        return "A"
    elif score > 80 and score < 90:
        return "B"
    for bonus in range(3):
        if bonus > score:
            return "C"
    return "D"


def clamp(value):
    # Keep the value within 0..100.
    return max(0, min(100, value))
''',
    test_path="tests/test_grade.py",
    test='''from grade import grade


def test_top_grade():
    assert grade(95) == "A"


def test_low_grade():
    assert grade(10) == "D"
    assert grade(85) == "B"
''',
    grade_name="grade", clamp_name="clamp",
    # added non-blank: elif, return B, for, if, return C, return D, def clamp, return max
    code_lines=8, test_lines=6,
)  # fmt: skip

_JS_BEFORE = """function grade(score) {
  if (score > 90) {
    return "A";
  }
  return "B";
}
"""
_JS_AFTER = """/** Letter grade for a score. */
function grade(score) {
  if (score > 90) {
    return "A";
  } else if (score > 80 && score < 90) {
    return "B";
  }
  for (let bonus = 0; bonus < 3; bonus++) {
    if (bonus > score) {
      return "C";
    }
  }
  return "D";
}

function clamp(value) {
  // Keep the value within 0..100.
  return Math.max(0, Math.min(100, value));
}
"""
# Brace languages: 18 non-blank after lines, 5 kept (signature, if, return A, "  }", "}"),
# 2 of the 13 added are comments: 11 code lines.
JAVASCRIPT = LangCase(
    "JavaScript", "src/grade.js", _JS_BEFORE, _JS_AFTER,
    test_path="src/grade.test.js",
    test='''const { grade } = require("./grade");

test("top grade", () => {
  expect(grade(95)).toBe("A");
});

it("low grades", () => {
  expect(grade(10)).toBe("D");
  expect(grade(85)).toBe("B");
});
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=8,
)  # fmt: skip

TYPESCRIPT = LangCase(
    "TypeScript", "src/grade.ts",
    _JS_BEFORE.replace("grade(score)", "grade(score: number): string"),
    _JS_AFTER.replace("grade(score)", "grade(score: number): string")
    .replace("clamp(value)", "clamp(value: number): number"),
    test_path="src/grade.spec.ts",
    test='''import { grade } from "./grade";

test("top grade", () => {
  expect(grade(95)).toBe("A");
});

it("low grades", () => {
  expect(grade(10)).toBe("D");
  expect(grade(85)).toBe("B");
});
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=8,
)  # fmt: skip

GO = LangCase(
    "Go", "grade/grade.go",
    before='''package grade

func grade(score int) string {
	if score > 90 {
		return "A"
	}
	return "B"
}
''',
    after='''package grade

// grade gives the letter grade for a score.
func grade(score int) string {
	if score > 90 {
		return "A"
	} else if score > 80 && score < 90 {
		return "B"
	}
	for bonus := 0; bonus < 3; bonus++ {
		if bonus > score {
			return "C"
		}
	}
	return "D"
}

func clamp(value int) int {
	// Keep the value within 0..100.
	return max(0, min(100, value))
}
''',
    test_path="grade/grade_test.go",
    test='''package grade

import "testing"

func TestTop(t *testing.T) {
	if grade(95) != "A" {
		t.Errorf("want A")
	}
}

func TestLow(t *testing.T) {
	if grade(10) != "D" {
		t.Fatal("want D")
	}
	if grade(85) != "B" {
		t.Error("want B")
	}
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=15,
)  # fmt: skip

RUST = LangCase(
    "Rust", "src/grade.rs",
    before='''pub fn grade(score: i32) -> &'static str {
    if score > 90 {
        return "A";
    }
    return "B";
}
''',
    after='''/// Letter grade for a score.
pub fn grade(score: i32) -> &'static str {
    if score > 90 {
        return "A";
    } else if score > 80 && score < 90 {
        return "B";
    }
    for bonus in 0..3 {
        if bonus > score {
            return "C";
        }
    }
    return "D";
}

pub fn clamp(value: i32) -> i32 {
    // Keep the value within 0..100.
    value.max(0).min(100)
}
''',
    test_path="tests/grade.rs",
    test='''use grade::grade;

#[test]
fn top() {
    assert_eq!(grade(95), "A");
}

#[test]
fn low() {
    assert_eq!(grade(10), "D");
    assert!(grade(85) == "B");
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=10,
)  # fmt: skip

_CLASS_BEFORE = """class Grader {
    static String grade(int score) {
        if (score > 90) {
            return "A";
        }
        return "B";
    }
}
"""
_CLASS_AFTER = """class Grader {
    /** Letter grade for a score. */
    static String grade(int score) {
        if (score > 90) {
            return "A";
        } else if (score > 80 && score < 90) {
            return "B";
        }
        for (int bonus = 0; bonus < 3; bonus++) {
            if (bonus > score) {
                return "C";
            }
        }
        return "D";
    }

    static int clamp(int value) {
        // Keep the value within 0..100.
        return Math.max(0, Math.min(100, value));
    }
}
"""
# Class languages: the class line and its closing brace are kept too, so 7 kept lines of
# 20 non-blank: 13 added, 2 of them comments: 11 code lines.
JAVA = LangCase(
    "Java", "src/main/java/Grader.java", _CLASS_BEFORE, _CLASS_AFTER,
    test_path="src/test/java/GraderTest.java",
    test='''import static org.junit.jupiter.api.Assertions.assertEquals;

class GraderTest {
    @Test
    void top() {
        assertEquals("A", Grader.grade(95));
    }

    @Test
    void low() {
        assertEquals("D", Grader.grade(10));
        assertEquals("B", Grader.grade(85));
    }
}
''',
    grade_name="Grader.grade", clamp_name="Grader.clamp", code_lines=11, test_lines=12,
)  # fmt: skip

CSHARP = LangCase(
    "C#", "src/Grader.cs",
    _CLASS_BEFORE.replace("String", "string"),
    _CLASS_AFTER.replace("String", "string"),
    test_path="test/GraderTests.cs",
    test='''using Xunit;

public class GraderTests {
    [Fact]
    public void Top() {
        Assert.Equal("A", Grader.grade(95));
    }

    [Fact]
    public void Low() {
        Assert.Equal("D", Grader.grade(10));
        Assert.Equal("B", Grader.grade(85));
    }
}
''',
    grade_name="Grader.grade", clamp_name="Grader.clamp", code_lines=11, test_lines=12,
)  # fmt: skip

_C_BEFORE = """const char *grade(int score) {
    if (score > 90) {
        return "A";
    }
    return "B";
}
"""
_C_AFTER = """/* Letter grade for a score. */
const char *grade(int score) {
    if (score > 90) {
        return "A";
    } else if (score > 80 && score < 90) {
        return "B";
    }
    for (int bonus = 0; bonus < 3; bonus++) {
        if (bonus > score) {
            return "C";
        }
    }
    return "D";
}

int clamp(int value) {
    // Keep the value within 0..100.
    return value < 0 ? 0 : value;
}
"""
# clamp uses ?: here, so it is cyclomatic 2: complexity +6 for C and C++ (see CLAMP_CC).
C = LangCase(
    "C", "src/grade.c", _C_BEFORE, _C_AFTER,
    test_path="tests/test_grade.c",
    test='''#include <assert.h>
#include <string.h>

TEST(grade, top) {
    assert(strcmp(grade(95), "A") == 0);
}

TEST(grade, low) {
    assert(strcmp(grade(10), "D") == 0);
    assert(strcmp(grade(85), "B") == 0);
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=9,
)  # fmt: skip

CPP = LangCase(
    "C++", "src/grade.cpp", _C_BEFORE, _C_AFTER,
    test_path="src/grade_test.cpp",
    test='''#include <gtest/gtest.h>

TEST(Grade, Top) {
    EXPECT_STREQ("A", grade(95));
}

TEST(Grade, Low) {
    EXPECT_STREQ("D", grade(10));
    ASSERT_STREQ("B", grade(85));
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=8,
)  # fmt: skip

RUBY = LangCase(
    "Ruby", "lib/grade.rb",
    before='''def grade(score)
  if score > 90
    return "A"
  end
  "B"
end
''',
    after='''# Letter grade for a score.
def grade(score)
  if score > 90
    return "A"
  elsif score > 80 && score < 90
    return "B"
  end
  for bonus in 0...3
    if bonus > score
      return "C"
    end
  end
  "D"
end

def clamp(value)
  # Keep the value within 0..100.
  value.clamp(0, 100)
end
''',
    test_path="spec/grade_spec.rb",
    test='''require "grade"

describe "grade" do
  it "gives A to top scores" do
    expect(grade(95)).to eq("A")
  end

  it "gives low grades" do
    expect(grade(10)).to eq("D")
    expect(grade(85)).to eq("B")
  end
end
''',
    # kept: def grade, if, return A, the first "  end", "end"; the "B" line changed
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=10,
)  # fmt: skip

PHP = LangCase(
    "PHP", "src/grade.php",
    before='''<?php
function grade($score) {
    if ($score > 90) {
        return "A";
    }
    return "B";
}
''',
    after='''<?php
/** Letter grade for a score. */
function grade($score) {
    if ($score > 90) {
        return "A";
    } elseif ($score > 80 && $score < 90) {
        return "B";
    }
    for ($bonus = 0; $bonus < 3; $bonus++) {
        if ($bonus > $score) {
            return "C";
        }
    }
    return "D";
}

function clamp($value) {
    // Keep the value within 0..100.
    return max(0, min(100, $value));
}
''',
    test_path="tests/GradeTest.php",
    test='''<?php
use PHPUnit\\Framework\\TestCase;

final class GradeTest extends TestCase {
    public function testTop(): void {
        $this->assertSame("A", grade(95));
    }

    public function testLow(): void {
        $this->assertSame("D", grade(10));
        $this->assertSame("B", grade(85));
    }
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=11,
)  # fmt: skip

KOTLIN = LangCase(
    "Kotlin", "src/main/kotlin/Grade.kt",
    before='''fun grade(score: Int): String {
    if (score > 90) {
        return "A"
    }
    return "B"
}
''',
    after='''/** Letter grade for a score. */
fun grade(score: Int): String {
    if (score > 90) {
        return "A"
    } else if (score > 80 && score < 90) {
        return "B"
    }
    for (bonus in 0 until 3) {
        if (bonus > score) {
            return "C"
        }
    }
    return "D"
}

fun clamp(value: Int): Int {
    // Keep the value within 0..100.
    return value.coerceIn(0, 100)
}
''',
    test_path="src/test/kotlin/GradeTest.kt",
    test='''import kotlin.test.assertEquals

class GradeTest {
    @Test
    fun top() {
        assertEquals("A", grade(95))
    }

    @Test
    fun low() {
        assertEquals("D", grade(10))
        assertEquals("B", grade(85))
    }
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=12,
)  # fmt: skip

SWIFT = LangCase(
    "Swift", "Sources/Grade/Grade.swift",
    before='''func grade(_ score: Int) -> String {
    if score > 90 {
        return "A"
    }
    return "B"
}
''',
    after='''/// Letter grade for a score.
func grade(_ score: Int) -> String {
    if score > 90 {
        return "A"
    } else if score > 80 && score < 90 {
        return "B"
    }
    for bonus in 0..<3 {
        if bonus > score {
            return "C"
        }
    }
    return "D"
}

func clamp(_ value: Int) -> Int {
    // Keep the value within 0..100.
    return Swift.max(0, Swift.min(100, value))
}
''',
    test_path="Tests/GradeTests/GradeTests.swift",
    test='''import XCTest

final class GradeTests: XCTestCase {
    func testTop() {
        XCTAssertEqual(grade(95), "A")
    }

    func testLow() {
        XCTAssertEqual(grade(10), "D")
        XCTAssertEqual(grade(85), "B")
    }
}
''',
    grade_name="grade", clamp_name="clamp", code_lines=11, test_lines=10,
)  # fmt: skip

CASES = [PYTHON, JAVASCRIPT, TYPESCRIPT, GO, RUST, JAVA, CSHARP, C, CPP, RUBY, PHP, KOTLIN, SWIFT]
CLAMP_CC = {"C": 2, "C++": 2}  # clamp's cyclomatic complexity where it is not 1
