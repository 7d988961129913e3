package scanner

import "testing"

// The edges of htmlText's single pass, each with its exact output: markup
// at the very start or end of the input, empty comments and elements, stray
// end tags, references and non-breaking spaces at the start of a run.
func TestHTMLTextEdges(t *testing.T) {
	checkConversion(t, "htmlText", htmlText, [][2]string{
		// A reference at the start of a run is decoded like any other.
		{"&lt;b&gt; 536", "<b> 536"},
		{"<p>&amp;</p>", "\n&\n"},
		// A non-breaking space first, last, alone and twice in a row,
		// escaped or as the raw UTF-8 bytes.
		{"&nbsp;536&nbsp;", " 536 "},
		{"\u00a0536\u00a0\u00a022", " 536  22"},
		{"<b>&nbsp;</b>", " "},
		// An empty comment ends where its "-->" starts right away.
		{"a<!---->b", "ab"},
		{"a<!--->-->b", "ab"},
		// Declarations and processing instructions are dropped; one left
		// open ends the text.
		{"<?xml version=\"1.0\"?>x", "x"},
		{"x<!DOCTYPE html", "x"},
		// A tag name that runs to the end of the input is kept as text.
		{"x<b", "x<b"},
		{"x</", "x</"},
		// Quotes of either kind hide a '>' inside an attribute value.
		{"<a title=\"x>y\" alt='>'>z</a>", "z"},
		// Empty script and style elements hide nothing that follows them.
		{"<script></script>ok", "ok"},
		{"<style></STYLE>ok", "ok"},
		{"<script>'</script>ok", "ok"},
		{"<script>\"</script>ok", "ok"},
		// An end tag of a hiding element with no start tag hides nothing.
		{"a</script>b", "ab"},
		{"a</style>b<p>c", "ab\nc"},
		// An end tag left open ends the text.
		{"<script>x</script", ""},
		// A hidden element whose end tag never comes hides the rest, a
		// '>' or a '<' in it notwithstanding, and so does one whose end
		// tag is cut off.
		{"<noscript><b>x</b>", ""},
		{"<script>abc>def", ""},
		{"<script>abcdefgh>ij", ""},
		{"<script>abcdefgh<x>yz", ""},
		{"<script>abcdefgh</scr", ""},
		{"<template>a</template>b<xml>c</xml>d", "bd"},
		// A table cell first: no separator before the text starts.
		{"<td>a</td><td>b</td>", "a b "},
		{"a\t<td>b", "a\tb"},
		{"a\r<td>b", "a\rb"},
		{"a\n<th>b", "a\nb"},
	})
}
