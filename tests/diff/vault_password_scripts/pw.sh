#!/bin/sh
echo script-test-pw
